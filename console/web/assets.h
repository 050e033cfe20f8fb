// The console page's own assets, embedded from console/web/assets/ at build
// time (cmake/GovEmbed.cmake); it shares viewer.css and render.js with the
// proof viewer (console/viewer/assets.h).
#pragma once

#include <string_view>

namespace gov::console::web {

extern const std::string_view kConsoleHtml;  // console.html: {{STYLE}}, {{SCRIPT}}
extern const std::string_view kConsoleCss;   // console.css (after viewer.css)
extern const std::string_view kConsoleJs;    // console.js (after render.js)

}  // namespace gov::console::web

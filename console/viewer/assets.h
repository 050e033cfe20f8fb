// The proof viewer's web assets, embedded in the binary at build time from
// console/viewer/assets/ (cmake/GovEmbed.cmake): the page template, its
// style sheet and its script.
#pragma once

#include <string_view>

namespace gov::console::assets {

extern const std::string_view kViewerHtml;  // viewer.html: {{CSP}}, {{STYLE}}, {{SCRIPT}}, {{DATA}}
extern const std::string_view kViewerCss;   // viewer.css
extern const std::string_view kRenderJs;    // render.js: how lineage is shown (viewer and console)
extern const std::string_view kViewerJs;    // viewer.js (runs after render.js)

}  // namespace gov::console::assets

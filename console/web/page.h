// The console's single page (console/web/assets): HTML with its style and
// script inline, and the Content-Security-Policy header that admits only
// them and requests to the console's own origin.
#pragma once

#include <string>

namespace gov::console {

struct WebPage {
  std::string html;
  std::string csp;  // the Content-Security-Policy header value
};

WebPage ConsolePage();

}  // namespace gov::console

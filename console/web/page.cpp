// The console's page (page.h), from assets embedded at build time.
#include "console/web/page.h"

#include "console/viewer/assets.h"
#include "console/viewer/proof_viewer.h"
#include "console/web/assets.h"

namespace gov::console {

WebPage ConsolePage() {
  const std::string style = std::string(assets::kViewerCss) + "\n" + std::string(web::kConsoleCss);
  const std::string script = std::string(assets::kRenderJs) + "\n" + std::string(web::kConsoleJs);
  WebPage page;
  page.csp = "default-src 'none'; script-src " + CspHash(script) + "; style-src " + CspHash(style) +
             "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  std::string html(web::kConsoleHtml);
  for (const auto& [placeholder, fill] :
       {std::pair<std::string, std::string>{"{{STYLE}}", style}, {"{{SCRIPT}}", script}}) {
    const std::size_t at = html.find(placeholder);
    if (at != std::string::npos) html.replace(at, placeholder.size(), fill);
  }
  page.html = std::move(html);
  return page;
}

}  // namespace gov::console

// {fmt}'s compiled part, built once for the whole project.
//
// Debian's libfmt-dev ships the shared library only, and govrun is a static
// program, so the runtime used to include {fmt} header-only: every one of its
// ~70 translation units then compiled {fmt}'s formatting core again (about a
// quarter of each one's compile time). This file compiles it once into
// gov_fmt; everything else includes <fmt/format.h> in the library mode and
// links gov_fmt. The explicit instantiations below are the ones the headers
// declare `extern` (or leave undefined) in that mode.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
}  // namespace detail
FMT_END_NAMESPACE

#pragma once
// RAII owners of cairo's handles (private to src/render).
#include <cairo.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace fakeless::render {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const noexcept { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const noexcept { cairo_destroy(c); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using ContextPtr = std::unique_ptr<cairo_t, ContextDeleter>;

inline void check(cairo_status_t status, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cairo: ") + what + ": " + cairo_status_to_string(status));
  }
}

inline SurfacePtr make_image_surface(int width, int height) {
  SurfacePtr s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  check(cairo_surface_status(s.get()), "cannot create the image surface");
  return s;
}

inline ContextPtr make_context(cairo_surface_t* surface) {
  ContextPtr c(cairo_create(surface));
  check(cairo_status(c.get()), "cannot create a drawing context");
  return c;
}

}  // namespace fakeless::render

// Keeps the executable loadable on glibc 2.34 (Amazon Linux 2023, the ECS-optimized AMI).
//
// glibc 2.35 gave hypot and hypotf new symbol versions. Swift's Glibc overlay, linked statically into the
// executable, references hypotf, and a build on a newer glibc binds that reference to hypotf@GLIBC_2.35, which
// makes the whole binary refuse to load on 2.34. Defining hypotf here satisfies the reference inside the
// executable; it calls hypot at its original version, which every glibc has.
#include <math.h>

#include "CGlibcCompat.h"

#if defined(__x86_64__)
__asm__(".symver ecsvpcd_hypot_original, hypot@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver ecsvpcd_hypot_original, hypot@GLIBC_2.17");
#endif

#if defined(__x86_64__) || defined(__aarch64__)
double ecsvpcd_hypot_original(double x, double y);

float hypotf(float x, float y) {
    return (float)ecsvpcd_hypot_original((double)x, (double)y);
}
#endif

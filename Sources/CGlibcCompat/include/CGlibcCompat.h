// Nothing to call: this target only pins glibc symbol versions for the executable (see compat.c).
#ifndef CGLIBCCOMPAT_H
#define CGLIBCCOMPAT_H
#endif

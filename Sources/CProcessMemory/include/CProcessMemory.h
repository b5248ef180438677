// The C heap's size in use, for the daemon's status and its memory test (glibc's mallinfo2 is not visible
// through Swift's Glibc module).
#ifndef CPROCESSMEMORY_H
#define CPROCESSMEMORY_H
#include <stddef.h>

/// Bytes allocated with malloc and not yet freed, over every arena (mallinfo2().uordblks).
size_t ecsvpcd_heap_in_use(void);
#endif

#include <malloc.h>

#include "CProcessMemory.h"

size_t ecsvpcd_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks;
}

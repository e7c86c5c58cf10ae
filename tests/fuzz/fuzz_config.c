/*
 * libFuzzer target for the config-file grammar (src/config.c): any bytes are
 * either applied or refused with a FILE:LINE reason, never a crash, a read
 * past the line buffer or a leak. The error must name a line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer */
    struct config c;
    cfg_init(&c);
    FILE *f = fmemopen((void *)data, size, "r");
    if (f) {
        char err[512] = "";
        if (cfg_load_stream(&c, f, "fuzz", err, sizeof err) != 0 && strncmp(err, "fuzz:", 5) != 0)
            abort(); /* every refusal names its line */
        fclose(f);
    }
    cfg_finish(&c);
    log_secret_forget_all(); /* tokens and URLs register as secrets */
    return 0;
}

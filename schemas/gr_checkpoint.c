/* Checkpoint records of the state topic: key and value codec
 * (gr_checkpoint.h). */
#include "gr_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

char *gr_checkpoint_key(int32_t partition, char *buf, size_t size) {
        snprintf(buf, size, GR_CHECKPOINT_KEY_PREFIX "%d", (int)partition);
        return buf;
}

void gr_checkpoint_encode(const char *topic, int32_t partition,
                          int64_t next_offset, gr_buf *out) {
        gr_jw w;

        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "topic", topic);
        gr_jw_kint(&w, "partition", partition);
        gr_jw_kint(&w, "next_offset", next_offset);
        gr_jw_obj_end(&w);
}

int64_t gr_checkpoint_decode(const void *buf, size_t len) {
        json_t *root = json_loadb(buf, len, 0, NULL), *v;
        int64_t off = -1;

        if (!root)
                return -1;
        v = json_object_get(root, "next_offset");
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                off = (int64_t)json_integer_value(v);
        json_decref(root);
        return off;
}

void gr_checkpoint_frontier_encode(const char *topic, int32_t partition,
                                   int64_t next_offset,
                                   const gr_merkle_frontier *f, gr_buf *out) {
        gr_buf fb;
        gr_jw w;

        gr_buf_init(&fb);
        gr_merkle_frontier_to_json(f, &fb);
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "topic", topic);
        gr_jw_kint(&w, "partition", partition);
        gr_jw_kint(&w, "next_offset", next_offset);
        gr_jw_key(&w, "merkle");
        if (fb.oom)
                out->oom = 1;
        else
                gr_jw_raw(&w, fb.data, fb.len);
        gr_jw_obj_end(&w);
        gr_buf_free(&fb);
}

int gr_checkpoint_frontier_decode(const void *buf, size_t len,
                                  gr_merkle_frontier *f) {
        json_t *root = json_loadb(buf, len, 0, NULL), *v;
        char *text = NULL, err[128];
        int rc = -1;

        if (!root)
                return -1;
        v = json_object_get(root, "merkle");
        if (!v) {
                rc = 1;
                goto out;
        }
        if (!json_is_object(v) ||
            !(text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
                goto out;
        rc = gr_merkle_frontier_from_json(f, text, strlen(text), err,
                                          sizeof(err));
out:
        free(text);
        json_decref(root);
        return rc;
}


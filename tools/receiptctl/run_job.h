/**
 * @file run_job.h
 * @brief One seller execution, observed: execution_started, the command
 *        under the supervisor (run_exec.h), then execution_failed (with the
 *        class from run_classify.h) or execution_completed, then
 *        output_delivered when the run completed and wrote its output.
 *        Used by `receiptctl run` and by `receiptctl demo --live`.
 *
 * Events are built as gr_event, signed when a key is given, and handed to
 * a sink as canonical JSON lines.  Event ids are deterministic from job,
 * attempt and type; occurred_at is the wall clock (the one place wall time
 * enters: the edge where the execution is observed).
 */
#ifndef GR_RUN_JOB_H
#define GR_RUN_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "gr_keys.h"
#include "run_exec.h"

typedef struct gr_run_job {
        const char *job_id;
        int64_t attempt;
        const char *worker_id;     /**< actor.id */
        const char *image;         /**< container_image; NULL: "host" */
        const char *command;       /**< text for the event; NULL: argv joined */
        const char *model_hash;    /**< optional */
        const char *manifest_hash; /**< optional */
        const char *output_path;   /**< optional: output file to hash */
        const gr_keypair *key;     /**< sign with it; NULL: unsigned */
} gr_run_job;

/** Takes one event as a JSON line (no newline); returns 0 or -1. */
typedef int (*gr_run_sink)(void *opaque, const char *json, size_t len);

typedef struct gr_run_report {
        gr_run_result res;
        gr_run_class cls;
        int output_written;
        char output_hash[80]; /**< "sha256:<hex>" when written */
        int events;           /**< events handed to the sink */
} gr_run_report;

/**
 * @brief Run the job and publish its lifecycle through sink.
 *        The command is not started when execution_started cannot be
 *        handed to the sink.
 * @returns 0 when every event went to the sink; -1 with err filled
 *          otherwise (rep tells how far it got).
 */
int gr_run_job_execute(const gr_run_job *job, const gr_run_spec *spec,
                       gr_run_sink sink, void *opaque, gr_run_report *rep,
                       char *err, size_t errsz);

/** @brief Deterministic event id for (job, attempt, type) into out
 *         (GR_ID_MAX bytes). */
void gr_run_event_id(const char *job_id, int64_t attempt, const char *type,
                     char *out, size_t size);

/** @brief Parse "64M", "1G", "512k", "1048576" (bytes; binary units).
 *  @returns 0, or -1 when not a positive size. */
int gr_run_parse_size(const char *s, int64_t *out);

#endif

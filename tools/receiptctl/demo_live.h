/**
 * @file demo_live.h
 * @brief `receiptctl demo --live`: the canonical case from a real run.
 *
 * Runs a small real job through the code of `receiptctl run` (run_job.h):
 * a child that starts, then allocates past a 64 MiB memory limit (a control
 * group when the machine allows, else RLIMIT_AS).  Its execution events,
 * with the quote, passed capacity check and reservation of the same job,
 * are kept as JSON lines for the demo to publish.  The receipt that comes
 * back reads capacity=pass execution=fail output=none settlement=hold
 * reason=container_oom.
 */
#ifndef GR_DEMO_LIVE_H
#define GR_DEMO_LIVE_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/** The live job's id. */
#define DEMO_LIVE_JOB "run_live"

typedef struct demo_live demo_live;

/**
 * @brief Run the live job now (call it before any thread is started) and
 *        print one line on stdout saying what was observed.
 * @returns the events (demo_live_free()), or NULL with err filled.
 */
demo_live *demo_live_run(char *err, size_t errsz);

/** @brief Publish the events to topic and wait for them (10 s at most).
 *  @returns the number of events, or -1. */
int demo_live_publish(demo_live *d, rd_kafka_t *prod, const char *topic);

void demo_live_free(demo_live *d);

#endif

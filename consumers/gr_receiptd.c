/* receiptd: set-up, the run loop, the window clock, shutdown.  The other
 * concerns live beside this file (gr_rd.h lists them). */
#include "gr_rd.h"

void grd_log(const gr_receiptd *r, int level, const char *fmt, ...) {
        va_list ap;
        char line[1024];

        if (r->cfg->log_level < level)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        /* One write: the restore thread logs too. */
        fprintf(stderr, "receiptd: %s\n", line);
}


/* The policy's window_clock: reservation_expired for the owned jobs
 * whose window passed on the wall clock (gr_window_clock.h). */
static void window_clock_tick(gr_receiptd *r) {
        struct timespec ts;
        int64_t wall;
        char err[256];

        clock_gettime(CLOCK_REALTIME, &ts);
        wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        gr_window_clock_sweep_begin(r->wclock);
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];
                gr_jobtab *jobs;
                gr_job *job;
                size_t it = 0;

                if (!grd_part_live(p) || p->revoking)
                        continue;
                jobs = gr_engine_jobs(p->eng);
                while ((job = gr_jobtab_next(jobs, &it))) {
                        if (!gr_window_clock_due(job, wall))
                                continue;
                        switch (gr_window_clock_publish(r->wclock, job,
                                                        p->partition, wall,
                                                        err, sizeof(err))) {
                        case 1:
                                rlog(r, 2, "window clock: %s attempt %u "
                                           "expired", job->job_id,
                                     (unsigned)job->attempt);
                                break;
                        case -1: rlog(r, 1, "%s", err); break;
                        default: break;
                        }
                }
        }
        r->st.window_clock_events = gr_window_clock_sweep_end(r->wclock);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                    char *errstr, size_t errstr_size) {
        char err[256];

        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "%s: %s", k, err);
                return -1;
        }
        return 0;
}

static int load_policy(gr_receiptd *r, char *errstr, size_t errstr_size) {
        FILE *fp;
        char *buf = NULL, err[256];
        size_t n;
        int rc = -1;

        gr_policy_default(&r->policy);
        if (!r->cfg->policy_file)
                return 0;
        if (!(fp = fopen(r->cfg->policy_file, "rb"))) {
                snprintf(errstr, errstr_size, "policy.file %s: cannot open",
                         r->cfg->policy_file);
                return -1;
        }
        if (!(buf = malloc(GR_POLICY_MAX + 1))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        n = fread(buf, 1, GR_POLICY_MAX + 1, fp);
        if (n > GR_POLICY_MAX || ferror(fp)) {
                snprintf(errstr, errstr_size,
                         "policy.file %s: unreadable or larger than %d bytes",
                         r->cfg->policy_file, GR_POLICY_MAX);
                goto out;
        }
        if (gr_policy_load(&r->policy, buf, n, err, sizeof(err)) == -1) {
                snprintf(errstr, errstr_size, "policy.file %s: %s",
                         r->cfg->policy_file, err);
                goto out;
        }
        rc = 0;
out:
        free(buf);
        fclose(fp);
        return rc;
}

/* The restore consumer's fetch.wait.max.ms (client_new). */
#define GR_RESTORE_FETCH_WAIT_MS "5"

static rd_kafka_t *client_new(gr_receiptd *r, rd_kafka_type_t type,
                              int restorer, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        gr_scope_t scope =
            type == RD_KAFKA_PRODUCER ? GR_SCOPE_PRODUCER : GR_SCOPE_CONSUMER;
        char txnid[256], err[512];
        rd_kafka_t *rk;

        /* Our defaults, then the operator's keys, then what correctness
         * needs and the operator may not change. */
        if (type == RD_KAFKA_CONSUMER) {
                if (conf_set(conf, "auto.offset.reset", "earliest", errstr,
                             errstr_size) ||
                    (!restorer &&
                     conf_set(conf, "partition.assignment.strategy",
                              "cooperative-sticky", errstr, errstr_size)))
                        goto err;
        } else if (!r->eos) {
                if (conf_set(conf, "enable.idempotence", "true", errstr,
                             errstr_size))
                        goto err;
        }
        if (gr_config_rdkafka_apply(r->cfg, scope, conf, err, sizeof(err)) ==
            -1) {
                snprintf(errstr, errstr_size, "%s", err);
                goto err;
        }
        if (type == RD_KAFKA_CONSUMER) {
                if (conf_set(conf, "enable.auto.commit", "false", errstr,
                             errstr_size) ||
                    conf_set(conf, "enable.auto.offset.store", "false", errstr,
                             errstr_size) ||
                    (r->eos && conf_set(conf, "isolation.level",
                                        "read_committed", errstr,
                                        errstr_size)))
                        goto err;
                if (restorer) {
                        /* The restore consumer's fetch wait is its own,
                         * whatever consumer.fetch.wait.max.ms says: it
                         * reads what is already written, and a fetch at
                         * the end waits this long at the broker.  Each
                         * restore pays it twice: the empty fetch that
                         * brings the end (PARTITION_EOF), and the next
                         * partition's first request queued behind the
                         * fetch still in flight.  Waiting for an open
                         * transaction to end, the partition is asked
                         * again at this pace. */
                        if (conf_set(conf, "fetch.wait.max.ms",
                                     GR_RESTORE_FETCH_WAIT_MS, errstr,
                                     errstr_size))
                                goto err;
                        /* assign() needs a group.id; this one never joins
                         * or commits. */
                        snprintf(txnid, sizeof(txnid), "%s.restore",
                                 r->cfg->group_id);
                        if (conf_set(conf, "enable.partition.eof", "true",
                                     errstr, errstr_size) ||
                            conf_set(conf, "group.id", txnid, errstr,
                                     errstr_size))
                                goto err;
                } else {
                        if (conf_set(conf, "group.id", r->cfg->group_id,
                                     errstr, errstr_size) ||
                            (r->cfg->group_instance_id &&
                             conf_set(conf, "group.instance.id",
                                      r->cfg->group_instance_id, errstr,
                                      errstr_size)))
                                goto err;
                        rd_kafka_conf_set_rebalance_cb(conf, grd_rebalance_cb);
                }
        } else {
                if (r->eos &&
                    !gr_config_rdkafka_get(r->cfg, GR_SCOPE_PRODUCER,
                                           "transactional.id")) {
                        /* Stable with static membership (gr_config.h). */
                        if (gr_config_transactional_id(r->cfg, txnid,
                                                       sizeof(txnid))) {
                                snprintf(errstr, errstr_size,
                                         "transactional.id: group.id and "
                                         "group.instance.id too long");
                                goto err;
                        }
                        if (conf_set(conf, "transactional.id", txnid, errstr,
                                     errstr_size))
                                goto err;
                }
                rd_kafka_conf_set_dr_msg_cb(conf, grd_dr_msg_cb);
        }
        rd_kafka_conf_set_opaque(conf, r);
        if (!(rk = rd_kafka_new(type, conf, err, sizeof(err)))) {
                snprintf(errstr, errstr_size, "%s", err);
                goto err;
        }
        return rk;
err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

/* Keys, the verification pool and the batch's record arrays. */
static int evidence_init(gr_receiptd *r, char *errstr, size_t errstr_size) {
        const gr_config *cfg = r->cfg;
        size_t cap = (size_t)cfg->batch_size;

        if (gr_crypto_init() == -1) {
                snprintf(errstr, errstr_size, "libsodium init failed");
                return -1;
        }
        r->kp = cfg->processor_kp;
        r->need_auth = r->policy.require_sig_roles != 0 ||
                       r->policy.require_sig_types != 0;
        if (r->need_auth && !cfg->keyring) {
                snprintf(errstr, errstr_size,
                         "the policy requires signatures but keys.registry "
                         "is not set: every signed event would be rejected");
                return -1;
        }
        if (r->kp && cfg->keyring) {
                const gr_key_entry *e =
                    gr_keyring_find(cfg->keyring, r->kp->key_id);
                if (e && (e->role != GR_KROLE_PROCESSOR ||
                          sodium_memcmp(e->pk, r->kp->pk, GR_PK_LEN))) {
                        snprintf(errstr, errstr_size,
                                 "processor.key %s does not match the entry "
                                 "of that key_id in keys.registry",
                                 r->kp->key_id);
                        return -1;
                }
        }
        if (r->kp && !r->eos)
                rlog(r, 1, "warning: processor.key under at_least_once: a "
                           "crash can repeat ledger rows that the tree heads "
                           "do not count, and an export then fails the "
                           "audit; use exactly_once for an auditable "
                           "ledger");
        if (r->need_auth &&
            !(r->vpool = gr_verify_pool_new(cfg->verify_threads, &r->policy,
                                            cfg->keyring, errstr,
                                            errstr_size)))
                return -1;
        /* Signatures to verify: GR_PEND_MAX records at a time, decoded
         * for the pool.  None: the whole batch, decoded by the workers as
         * they apply it, so a flush spans every partition the batch has. */
        if (r->need_auth && cap > GR_PEND_MAX)
                cap = GR_PEND_MAX;
        r->cappend = cap;
        if (!(r->pend = calloc(cap, sizeof(*r->pend))) ||
            (r->need_auth &&
             (!(r->evs = calloc(cap, sizeof(*r->evs))) ||
              !(r->pevs = calloc(cap, sizeof(*r->pevs))) ||
              !(r->prc = calloc(cap, sizeof(*r->prc))) ||
              !(r->perr = calloc(cap, sizeof(*r->perr)))))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

/* The cluster is reachable and the topics exist, co-partitioned (the
 * tree-head topic only when there is a processor key to sign heads). */
static int check_topics(gr_receiptd *r, char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata *md = NULL;
        const char *bs = gr_config_rdkafka_get(r->cfg, GR_SCOPE_CONSUMER,
                                               "bootstrap.servers");
        rd_kafka_resp_err_t e;
        int cnt[GR_TOPIC__CNT];

        e = rd_kafka_metadata(r->consumer, 1, NULL, &md,
                              r->cfg->startup_timeout_ms);
        if (e) {
                snprintf(errstr, errstr_size,
                         "cannot reach the Kafka cluster at %s within %d ms: "
                         "%s",
                         bs ? bs : "(bootstrap.servers not set)",
                         r->cfg->startup_timeout_ms, rd_kafka_err2str(e));
                return -1;
        }
        for (int t = 0; t < GR_TOPIC__CNT; t++) {
                cnt[t] = -1;
                if (t == GR_TOPIC_LEDGER_HEADS && !r->kp) {
                        cnt[t] = cnt[0];
                        continue;
                }
                for (int i = 0; i < md->topic_cnt; i++)
                        if (!strcmp(md->topics[i].topic, r->topics.name[t]) &&
                            !md->topics[i].err)
                                cnt[t] = md->topics[i].partition_cnt;
                if (cnt[t] <= 0) {
                        snprintf(errstr, errstr_size,
                                 "topic %s does not exist: create the "
                                 "topics of prefix \"%s\" with equal "
                                 "partition counts%s",
                                 r->topics.name[t], r->cfg->topic_prefix,
                                 t == GR_TOPIC_LEDGER_HEADS ?
                                     " (the tree-head topic is needed "
                                     "because processor.key is set)" :
                                     "");
                        goto err;
                }
                if (cnt[t] != cnt[0]) {
                        snprintf(errstr, errstr_size,
                                 "topic %s has %d partitions but %s has %d: "
                                 "outputs must be co-partitioned with the "
                                 "input",
                                 r->topics.name[t], cnt[t], r->topics.name[0],
                                 cnt[0]);
                        goto err;
                }
        }
        r->nparts = cnt[0];
        rd_kafka_metadata_destroy(md);
        return 0;
err:
        rd_kafka_metadata_destroy(md);
        return -1;
}

/* Give the producer the output topics' metadata now: a topic it first
 * meets in a produce call waits for the next periodic topic scan (up to
 * a second) before anything is sent, which would stall the first batch
 * after every start.  A failure only costs that stall, so it is ignored. */
static void producer_warm(gr_receiptd *r) {
        for (int t = 0; t < GR_TOPIC__CNT; t++) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_topic_t *rkt;

                if (t == GR_TOPIC_EVENTS ||
                    (t == GR_TOPIC_LEDGER_HEADS && !r->kp))
                        continue;
                if (!(rkt = rd_kafka_topic_new(r->producer, r->topics.name[t],
                                               NULL)))
                        continue;
                if (!rd_kafka_metadata(r->producer, 0, rkt, &md,
                                       r->cfg->startup_timeout_ms))
                        rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
        }
}

/* /jobs/JOB_ID: runs on the daemon thread (gr_metrics_dispatch), so the
 * partitions' job tables are read without a lock; the server checks the
 * reader's rights and renders the job there too. */
static const gr_job *metrics_job_find(void *opaque, const char *job_id) {
        gr_receiptd *r = opaque;
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_job *j;
                if (!r->parts[i] || !r->parts[i]->eng)
                        continue;
                if ((j = gr_jobtab_get(gr_engine_jobs(r->parts[i]->eng),
                                       job_id, 0)))
                        return j;
        }
        return NULL;
}

gr_receiptd *gr_receiptd_new(const gr_config *cfg, char *errstr,
                             size_t errstr_size) {
        gr_receiptd *r = calloc(1, sizeof(*r));
        rd_kafka_topic_partition_list_t *sub;
        rd_kafka_error_t *e;
        rd_kafka_resp_err_t err;

        if (!r) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->cfg = cfg;
        r->eos = cfg->guarantee == GR_GUARANTEE_EXACTLY_ONCE;
        gr_buf_init(&r->buf);
        if (pthread_mutex_init(&r->dr_mu, NULL)) {
                snprintf(errstr, errstr_size, "cannot create a mutex");
                free(r);
                return NULL;
        }
        r->dr_mu_init = 1;
        if (gr_topics_init(&r->topics, cfg->topic_prefix) == -1) {
                snprintf(errstr, errstr_size, "topic.prefix too long");
                goto err;
        }
        if (load_policy(r, errstr, errstr_size) == -1)
                goto err;
        if (gr_config_metrics_check(cfg, errstr, errstr_size) == -1)
                goto err;
        if (cfg->metrics_listen) {
                gr_metrics_opts mo;
                gr_config_metrics_opts(cfg, &mo);
                if (!(r->metrics = gr_metrics_new_opts(&mo, errstr,
                                                       errstr_size)))
                        goto err;
                gr_metrics_job_finder_set(r->metrics, metrics_job_find, r);
        }
        if (!gr_config_rdkafka_get(cfg, GR_SCOPE_CONSUMER, "bootstrap.servers")) {
                snprintf(errstr, errstr_size,
                         "bootstrap.servers is not set (config file or -X)");
                goto err;
        }
        if (!(r->codec = gr_codec_new(cfg->schema_dir, errstr,
                                      errstr_size)))
                goto err;
        if (evidence_init(r, errstr, errstr_size) == -1)
                goto err;
        if (cfg->output_wire != GR_WIRE_JSON && r->kp) {
                /* The Avro decision has sig/key_id fields, but the signed
                 * bytes are the JSON rendering: not mixed until the Avro
                 * form has a signing definition of its own. */
                snprintf(errstr, errstr_size,
                         "output.format %s with processor.key: signed "
                         "decisions are published as JSON only",
                         gr_wire_name((gr_wire_t)cfg->output_wire));
                goto err;
        }
        if (!(r->consumer = client_new(r, RD_KAFKA_CONSUMER, 0, errstr,
                                       errstr_size)))
                goto err;
        rd_kafka_poll_set_consumer(r->consumer);
        if (!(r->restorer = client_new(r, RD_KAFKA_CONSUMER, 1, errstr,
                                       errstr_size)) ||
            !(r->producer = client_new(r, RD_KAFKA_PRODUCER, 0, errstr,
                                       errstr_size)))
                goto err;
        if (check_topics(r, errstr, errstr_size) == -1)
                goto err;
        if (!(r->cq = rd_kafka_queue_get_consumer(r->consumer)) ||
            !(r->rtq = gr_rtq_new(grd_restore_run, grd_restore_free,
                                  grd_restore_wake, r))) {
                snprintf(errstr, errstr_size,
                         "cannot start the restore thread");
                goto err;
        }
        if (r->policy.window_clock) {
                rd_kafka_conf_t *conf = rd_kafka_conf_new();
                if (gr_config_rdkafka_apply_except(cfg, GR_SCOPE_PRODUCER,
                                                   "transactional.id", conf,
                                                   errstr, errstr_size)) {
                        rd_kafka_conf_destroy(conf);
                        goto err;
                }
                if (!(r->wclock = gr_window_clock_new(
                          conf, r->topics.name[GR_TOPIC_EVENTS], errstr,
                          errstr_size)))
                        goto err;
                rlog(r, 1, "window clock: reservation_expired for windows "
                           "passed on the wall clock, checked every %d ms",
                     cfg->window_clock_interval_ms);
        }
        for (int t = 0; t < GR_TOPIC__CNT; t++)
                if (!(r->rkt[t] = rd_kafka_topic_new(
                          r->producer, r->topics.name[t], NULL))) {
                        snprintf(errstr, errstr_size, "topic %s: %s",
                                 r->topics.name[t],
                                 rd_kafka_err2str(rd_kafka_last_error()));
                        goto err;
                }
        gr_outputs_init(&r->out, r->producer, &r->topics, r->codec,
                        cfg->output_wire, r->kp, GR_PRODUCE_TIMEOUT_MS);
        gr_outputs_use_handles(&r->out, r->rkt);
        if (grd_workers_init(r, errstr, errstr_size) == -1)
                goto err;
        producer_warm(r);
        if (!(r->parts = calloc((size_t)r->nparts, sizeof(*r->parts))) ||
            !(r->assigned = calloc((size_t)r->nparts, 1))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        if (r->eos &&
            (e = rd_kafka_init_transactions(r->producer,
                                            cfg->startup_timeout_ms))) {
                snprintf(errstr, errstr_size, "init_transactions: %s: %s",
                         rd_kafka_error_name(e), rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                goto err;
        }
        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, r->topics.name[GR_TOPIC_EVENTS],
                                          RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(r->consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe: %s",
                         rd_kafka_err2str(err));
                goto err;
        }
        rlog(r, 1,
             "group %s, %s, input %s (%d partitions), batch %d records / %d "
             "ms, policy %.12s",
             cfg->group_id, r->eos ? "exactly_once" : "at_least_once",
             r->topics.name[GR_TOPIC_EVENTS], (int)r->nparts, cfg->batch_size,
             cfg->batch_ms, r->policy.hash);
        if (r->nworkers > 1)
                rlog(r, 1, "processing on %d threads, each taking whole "
                           "partitions of a batch",
                     r->nworkers);
        if (r->need_auth)
                rlog(r, 1, "event signatures: required by the policy, "
                           "verified on %d thread(s) against %zu registry "
                           "key(s)",
                     gr_verify_pool_threads(r->vpool),
                     gr_keyring_count(cfg->keyring));
        if (r->kp)
                rlog(r, 1, "decisions and tree heads signed with %s; heads "
                           "to %s",
                     r->kp->key_id, r->topics.name[GR_TOPIC_LEDGER_HEADS]);
        return r;
err:
        gr_receiptd_destroy(r);
        return NULL;
}

static void log_progress(gr_receiptd *r, const char *when) {
        rlog(r, 1,
             "%s: %llu records (%llu applied, %llu parked, %llu duplicates, "
             "%llu rejected), %llu decisions, %llu ledger rows, %llu state "
             "records, %llu batches committed, %llu aborted, %llu rewinds, "
             "%llu DLQ records",
             when, (unsigned long long)r->st.records,
             (unsigned long long)r->st.applied,
             (unsigned long long)r->st.parked,
             (unsigned long long)r->st.duplicates,
             (unsigned long long)r->st.rejected,
             (unsigned long long)r->st.decisions,
             (unsigned long long)r->st.ledger_rows,
             (unsigned long long)r->st.state_records,
             (unsigned long long)r->st.commits,
             (unsigned long long)r->st.aborts,
             (unsigned long long)r->st.rewinds,
             (unsigned long long)r->st.dlq);
        if (r->st.batches)
                rlog(r, 1,
                     "%s: per batch (%llu): %.2f ms from the last batch's "
                     "end to its first record, %.2f ms waiting for input "
                     "records, %.2f ms decode and apply, %.2f "
                     "ms waiting for the outputs' acks, %.2f ms writing "
                     "state, %.2f ms committing",
                     when, (unsigned long long)r->st.batches,
                     r->st.gap_ms / (double)r->st.batches,
                     r->st.wait_ms / (double)r->st.batches,
                     r->st.apply_ms / (double)r->st.batches,
                     r->st.ack_ms / (double)r->st.batches,
                     r->st.state_ms / (double)r->st.batches,
                     r->st.commit_ms / (double)r->st.batches);
        if (r->need_auth)
                rlog(r, 1,
                     "%s: %llu events through the verification pool (%d "
                     "threads) in %.1f ms, %llu failed",
                     when, (unsigned long long)r->st.verified,
                     gr_verify_pool_threads(r->vpool), r->st.verify_ms,
                     (unsigned long long)r->st.auth_rejected);
        if (r->kp)
                rlog(r, 1, "%s: %llu tree heads signed in %.1f ms", when,
                     (unsigned long long)r->st.heads, r->st.heads_ms);
}

/* librdkafka before 2.3.0 asserts when a cooperative-sticky consumer is
 * destroyed after its JoinGroup but before its first assignment
 * (confluentinc/librdkafka#4312, rdkafka_sticky_assignor.c): a SIGTERM in
 * that window would abort the process.  So when stopping in the middle of
 * the first join (a member id but no assignment yet) the join gets a
 * moment to finish (records it brings are not processed: the rebalance
 * on close hands them on untouched); if it still has not, destroy leaves
 * the consumer handle alone (the process is about to exit). */
static int join_unfinished(gr_receiptd *r) {
        char *member;
        int joined;

        if (r->assigned_once || rd_kafka_version() >= 0x020300ff)
                return 0;
        member = rd_kafka_memberid(r->consumer);
        joined = member && *member;
        if (member)
                rd_kafka_mem_free(r->consumer, member);
        return joined;
}

static void join_finish(gr_receiptd *r) {
        int64_t deadline = now_ms() + GR_JOIN_FINISH_MS;

        if (!join_unfinished(r))
                return;
        rlog(r, 1, "stopping during the first group join: letting it finish "
                   "(up to %d ms)", GR_JOIN_FINISH_MS);
        while (!r->assigned_once && !r->fatal && now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer,
                                                               100);
                if (m)
                        rd_kafka_message_destroy(m);
        }
        if ((r->join_unfinished = join_unfinished(r)))
                rlog(r, 1, "the first group join did not finish: the "
                           "consumer handle is not destroyed "
                           "(librdkafka#4312)");
}

int gr_receiptd_run(gr_receiptd *r, volatile sig_atomic_t *stop) {
        int64_t batch_deadline = 0, next_progress = now_ms() + GR_PROGRESS_MS;
        int64_t next_clock = 0;
        rd_kafka_resp_err_t e;

        while (!*stop && !r->fatal) {
                int timeout = 200;
                int64_t t;
                rd_kafka_message_t *m;

                /* What the rebalance callback recorded, outside it;
                 * then the restores that finished. */
                if (r->reb.head) {
                        grd_rebalance_serve(r);
                        continue;
                }
                grd_restores_finish(r);
                t = now_ms();
                if (r->batch_records) {
                        if (r->batch_records >= r->cfg->batch_size ||
                            t >= batch_deadline) {
                                grd_batch_commit(r);
                                continue;
                        }
                        timeout = (int)(batch_deadline - t);
                }
                if (t >= next_progress) {
                        log_progress(r, "progress");
                        next_progress = t + GR_PROGRESS_MS;
                }
                if (r->wclock && t >= next_clock) {
                        window_clock_tick(r);
                        next_clock = t + r->cfg->window_clock_interval_ms;
                }
                m = rd_kafka_consumer_poll(r->consumer, timeout);
                gr_metrics_dispatch(r->metrics); /* /jobs/ pages */
                if (!m) {
                        /* Delivery reports are served by each batch's
                         * flush; between batches only when idle. */
                        rd_kafka_poll(r->producer, 0);
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        /* not an error */
                } else if (m->err) {
                        char fe[256];
                        if (rd_kafka_fatal_error(r->consumer, fe, sizeof(fe))) {
                                rlog(r, 0, "fatal consumer error: %s", fe);
                                r->fatal = 1;
                        } else if (m->err != r->last_consume_err) {
                                rlog(r, 1, "consumer: %s",
                                     rd_kafka_message_errstr(m));
                        }
                        r->last_consume_err = m->err;
                } else {
                        r->last_consume_err = 0;
                        if (!r->batch_records)
                                batch_deadline = now_ms() + r->cfg->batch_ms;
                        m = grd_pend_add(r, m);
                }
                if (m)
                        rd_kafka_message_destroy(m);
        }

        /* Finish (or, after a fatal error, abort) the batch in flight, then
         * leave the group; rebalances from now on commit nothing more. */
        if (r->fatal)
                grd_batch_fail(r);
        else
                grd_batch_commit(r);
        grd_rebalance_close(r);
        join_finish(r);
        if ((e = rd_kafka_consumer_close(r->consumer)))
                rlog(r, 1, "consumer close: %s", rd_kafka_err2str(e));
        r->closed = 1;
        if (r->eos && r->in_txn)
                grd_txn_abort(r);
        rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);
        log_progress(r, r->fatal ? "stopped after a fatal error" : "stopped");
        return r->fatal ? -1 : 0;
}

const gr_receiptd_stats *gr_receiptd_stats_get(const gr_receiptd *r) {
        return &r->st;
}

void gr_receiptd_destroy(gr_receiptd *r) {
        if (!r)
                return;
        /* First: the server's /jobs/ pages read the partitions. */
        gr_metrics_destroy(r->metrics);
        gr_window_clock_destroy(r->wclock);
        r->metrics = NULL;
        grd_rebalance_close(r);
        if (r->consumer) {
                if (!r->closed)
                        r->join_unfinished = join_unfinished(r);
                if (!r->closed)
                        rd_kafka_consumer_close(r->consumer);
        }
        /* The partitions (their restores cancelled), then the restore
         * thread, which may be using the consumer. */
        if (r->parts)
                for (int32_t i = 0; i < r->nparts; i++)
                        grd_part_destroy(r->parts[i]);
        free(r->parts);
        free(r->assigned);
        grd_reb_clear(&r->reb);
        gr_rtq_destroy(r->rtq);
        if (r->cq)
                rd_kafka_queue_destroy(r->cq);
        if (r->consumer && !r->join_unfinished)
                rd_kafka_destroy(r->consumer);
        if (r->restorer)
                rd_kafka_destroy(r->restorer);
        for (int t = 0; t < GR_TOPIC__CNT; t++)
                if (r->rkt[t])
                        rd_kafka_topic_destroy(r->rkt[t]);
        if (r->producer)
                rd_kafka_destroy(r->producer);
        /* After the producer: its last delivery reports take dr_mu. */
        grd_workers_free(r);
        if (r->dr_mu_init)
                pthread_mutex_destroy(&r->dr_mu);
        gr_codec_destroy(r->codec);
        if (r->pend)
                grd_pend_drop(r);
        gr_verify_pool_destroy(r->vpool);
        free(r->pend);
        free(r->evs);
        free(r->pevs);
        free(r->prc);
        free(r->perr);
        gr_buf_free(&r->buf);
        gr_outputs_free(&r->out);
        free(r);
}

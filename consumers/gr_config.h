/**
 * @file gr_config.h
 * @brief receiptd configuration: a file of `key=value` lines plus
 *        `-X key=value` overrides.  receiptd's own keys are listed below;
 *        every other key is handed to librdkafka unchanged (and checked by
 *        it at load time), so `bootstrap.servers`, `security.protocol`,
 *        `sasl.*`, `ssl.*` ... work exactly as for any librdkafka client.
 *
 * receiptd keys (defaults in brackets):
 *   topic.prefix          [gpu.]          topic names = prefix + docs/SPEC.md §2 suffix
 *   group.id              [gpu-receipts]  consumer group
 *   group.instance.id     [none]          static membership (KIP-345): an
 *                                         id stable across restarts and
 *                                         unique per live instance (pod
 *                                         name, host name); a restarted
 *                                         instance gets its partitions back
 *                                         without a rebalance, and the
 *                                         transactional.id derives from it
 *                                         (gr_config_transactional_id).
 *                                         `consumer.group.instance.id` is
 *                                         the same key
 *   policy.file           [built-in default policy]
 *   schema.dir            [built-in]      Avro schemas + registry.txt (gr_codec.h)
 *   processing.guarantee  [exactly_once]  or at_least_once
 *   batch.size            [500]           input records per batch/transaction
 *   batch.ms              [100]           longest a batch stays open
 *   startup.timeout.ms    [10000]         bounded wait for the cluster at start
 *   restore.timeout.ms    [60000]         bounded wait to restore one partition
 *   log.level             [1]             0 quiet, 1 info, 2 debug
 *   output.format         [json]          decisions as json, avro (Confluent
 *                                         framing) or avro-single (single-
 *                                         object encoding); input framing is
 *                                         recognised per record either way
 *   metrics.listen        [off]           HOST:PORT of /metrics, /healthz,
 *                                         /readyz, /jobs/ (gr_metrics.h);
 *                                         deploy/ uses 127.0.0.1:9464
 *
 * HTTP server keys (docs/OPERATIONS.md "The HTTP server's defences"):
 *   metrics.token.file    [none]          file holding the bearer token
 *                                         /metrics then requires (mode
 *                                         0600 or stricter)
 *   metrics.tls.cert      [none]          PEM certificate chain: HTTPS
 *   metrics.tls.key       [none]          PEM private key (mode 0600 or
 *                                         stricter); with metrics.tls.cert
 *   metrics.jobs.unsigned [false]         true: /jobs/ without signatures;
 *                                         refused at start-up unless
 *                                         metrics.listen is loopback
 *   metrics.auth.window.s [300]           signed request ts window (1..86400)
 *   metrics.auth.nonces.max [100000]      replay cache entries
 *   metrics.max.connections [64]          open connections at once
 *   metrics.per.ip.connections [16]       per client address (0: no limit)
 *   metrics.timeout.s     [10]            idle connection timeout
 *   metrics.request.max.bytes [16384]     request line + headers
 *   window.clock.interval.ms [1000]       how often owned jobs are checked
 *                                         for windows passed on the wall
 *                                         clock, when the policy turns
 *                                         window_clock on (gr_window_clock.h)
 *
 * Evidence keys (gr_keys.h, gr_sign.h).  Files are read and
 * checked when the key is set, so a bad file fails like any bad value:
 *   keys.registry         [none]          key registry JSON (who may sign
 *                                         what); events the policy requires
 *                                         signatures on are verified against
 *                                         it; without it they fail unknown_key
 *   processor.key         [none]          receiptd's secret key file
 *                                         `<id>.key.json`, role `processor`,
 *                                         refused when group or others may
 *                                         read or write it (mode & 077):
 *                                         decisions are signed with it and a
 *                                         signed Merkle tree head per
 *                                         partition and batch goes to
 *                                         gpu.job.ledger.heads (that topic
 *                                         must then exist)
 *   verify.threads        [online CPUs]   threads verifying event signatures
 *                                         (1..256); unused when the policy
 *                                         requires no signatures
 *   processing.threads    [1]             workers that decode, apply and
 *                                         write the outputs of a batch's
 *                                         records (1..64), each taking whole
 *                                         partitions: a partition's records
 *                                         stay in order on one worker; still
 *                                         one transaction per batch
 *
 * A key may be scoped to one client with `consumer.` or `producer.`
 * (e.g. `producer.linger.ms=5`); unscoped librdkafka keys go to both.
 * `consumer.` keys also reach the restore consumer, but for what it sets
 * itself: its own group.id (<group.id>.restore, never joined),
 * enable.partition.eof, and a fetch.wait.max.ms of 5 ms
 * (docs/OPERATIONS.md, "Cost").
 * Lines starting with `#` and blank lines are ignored.
 */
#ifndef GR_CONFIG_H
#define GR_CONFIG_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "gr_keys.h"
#include "gr_metrics.h"

/* Most workers processing.threads may ask for. */
#define GR_PROCESSING_THREADS_MAX 64

typedef enum {
        GR_GUARANTEE_EXACTLY_ONCE,
        GR_GUARANTEE_AT_LEAST_ONCE,
} gr_guarantee_t;

/** Which librdkafka client a pass-through key is meant for. */
typedef enum {
        GR_SCOPE_BOTH,
        GR_SCOPE_CONSUMER,
        GR_SCOPE_PRODUCER,
} gr_scope_t;

typedef struct gr_config_kv {
        gr_scope_t scope;
        char *key, *value; /* owned */
} gr_config_kv;

typedef struct gr_config {
        char *topic_prefix; /**< owned */
        char *group_id;     /**< owned */
        char *group_instance_id; /**< owned; NULL = dynamic membership */
        char *policy_file;  /**< owned; NULL = default policy */
        char *schema_dir;   /**< owned; NULL = built-in schemas */
        gr_guarantee_t guarantee;
        int batch_size;
        int batch_ms;
        int startup_timeout_ms;
        int restore_timeout_ms;
        int log_level;
        int window_clock_interval_ms; /**< how often the window clock looks */
        char *keys_registry;      /**< owned path; NULL = none */
        gr_keyring *keyring;      /**< owned, parsed from keys_registry */
        char *processor_key;      /**< owned path; NULL = none */
        gr_keypair *processor_kp; /**< owned (wiped on destroy), or NULL */
        int verify_threads;       /**< default: online CPUs */
        int processing_threads;   /**< default 1 */
        char *metrics_listen; /**< owned; NULL = no metrics server */
        char *metrics_token;    /**< owned secret (wiped); NULL = none */
        char *metrics_tls_cert; /**< owned PEM text; NULL = plain HTTP */
        char *metrics_tls_key;  /**< owned PEM text (wiped) */
        int metrics_jobs_unsigned;
        int metrics_auth_window_s;
        int metrics_nonces_max;
        int metrics_max_connections;
        int metrics_per_ip_connections;
        int metrics_timeout_s;
        int metrics_request_max_bytes;
        const char *metrics_key_set; /**< a metrics.* key other than listen
                                          given (static name), or NULL */
        int output_wire;      /**< gr_wire_t of published decisions */
        gr_config_kv *kv; /**< librdkafka pass-through, in order given */
        size_t nkv;
} gr_config;

/** @returns a config holding the defaults (caller destroys), NULL on ENOMEM. */
gr_config *gr_config_new(void);
/** NULL is a no-op. */
void gr_config_destroy(gr_config *c);

/**
 * @brief Set one key.  receiptd keys are parsed and range-checked;
 *        anything else must be a property librdkafka knows.
 * @returns 0, or -1 with errstr naming the key and the problem.
 */
int gr_config_set(gr_config *c, const char *key, const char *value,
                  char *errstr, size_t errstr_size);

/** Same for one `key=value` string (as given to -X). */
int gr_config_set_kv(gr_config *c, const char *kv, char *errstr,
                     size_t errstr_size);

/**
 * @brief Read a config file of `key=value` lines, of any length; blank
 *        lines and lines starting with `#` are skipped, spaces around the
 *        key and the value trimmed.
 * @returns 0, or -1 with errstr naming the file and line (a line without
 *          `=`, a NUL byte, or what gr_config_set() refuses).
 */
int gr_config_load_file(gr_config *c, const char *path, char *errstr,
                        size_t errstr_size);

/** The metrics server settings of c (pointers borrowed from c). */
void gr_config_metrics_opts(const gr_config *c, gr_metrics_opts *o);

/**
 * @brief A metrics.* setting without metrics.listen would be ignored:
 *        refuse it.
 * @returns 0, or -1 with errstr naming the key.
 */
int gr_config_metrics_check(const gr_config *c, char *errstr,
                            size_t errstr_size);

/**
 * @brief The producer's transactional.id under exactly_once when the
 *        operator set none: `<group.id>-<group.instance.id>` with static
 *        membership, stable across restarts, so a restarted instance's
 *        init_transactions fences its predecessor and aborts the
 *        transaction it left open (read_committed readers and the state
 *        restore do not wait for transaction.timeout.ms); without it
 *        `<group.id>-<host>-<pid>`, unique per live instance (KIP-447
 *        fences a zombie by group generation either way).
 * @returns 0, or -1 when buf is too small.
 */
int gr_config_transactional_id(const gr_config *c, char *buf, size_t size);

/** Last value given for a pass-through key applying to scope, or NULL
 *  (borrowed). */
const char *gr_config_rdkafka_get(const gr_config *c, gr_scope_t scope,
                                  const char *key);

/**
 * @brief Apply the pass-through keys meant for `scope` to conf.
 * @returns 0, or -1 with librdkafka's message in errstr.
 */
int gr_config_rdkafka_apply(const gr_config *c, gr_scope_t scope,
                            rd_kafka_conf_t *conf, char *errstr,
                            size_t errstr_size);

/** The same, leaving out the key `skip` (e.g. transactional.id for a
 *  second producer that must not share it). */
int gr_config_rdkafka_apply_except(const gr_config *c, gr_scope_t scope,
                                   const char *skip, rd_kafka_conf_t *conf,
                                   char *errstr, size_t errstr_size);

#endif

package gpureceipts.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * A plain Kafka Streams application doing receiptd's kind of work on the
 * same input, with exactly_once_v2: per event, decode the JSON, load the
 * job's state from a changelogged key-value store, move the layer statuses
 * (capacity, execution, output, evaluation) by the event type, decide a
 * settlement with a reduced rule table when a layer reaches an outcome,
 * hash-chain a ledger row (SHA-256) and write it, the decision and the new
 * state.  It is the framework's cost for this shape of work, NOT the
 * contract's rules: no preconditions, parking, attempts or policy, and its
 * outputs are not comparable with receiptd's byte for byte.
 *
 * usage: Baseline BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC APP_ID EXPECTED [COMMIT_MS]
 * Prints one line "processed N in S s, cpu C s" once N >= EXPECTED input
 * records were processed (and their transaction committed).
 */
public final class Baseline {
  private static final ObjectMapper JSON = new ObjectMapper();

  static final class Step implements Processor<String, String, String, String> {
    private final AtomicLong seen;
    private KeyValueStore<String, String> store;
    private ProcessorContext<String, String> ctx;
    private MessageDigest sha;

    Step(AtomicLong seen) {
      this.seen = seen;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
      ctx = context;
      store = context.getStateStore("jobs");
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void process(Record<String, String> rec) {
      seen.incrementAndGet();
      JsonNode ev;
      try {
        ev = JSON.readTree(rec.value());
      } catch (Exception e) {
        ctx.forward(rec.withValue("{\"reject\":\"invalid_json\"}"));
        return;
      }
      String job = ev.path("job_id").asText("");
      if (job.isEmpty() || !job.equals(rec.key())) {
        ctx.forward(rec.withValue("{\"reject\":\"schema\"}"));
        return;
      }
      ObjectNode st;
      try {
        String old = store.get(job);
        st = old == null ? JSON.createObjectNode() : (ObjectNode) JSON.readTree(old);
      } catch (Exception e) {
        st = JSON.createObjectNode();
      }
      String type = ev.path("type").asText("");
      JsonNode body = ev.path("body");
      String settlement = null;
      String reason = null;
      switch (type) {
        case "quote_accepted" -> st.put("capacity", "unknown").put("execution", "not_started")
            .put("output", "none").put("evaluation", "not_started");
        case "capacity_checked" -> {
          String r = body.path("result").asText("pass");
          st.put("capacity", r);
          if (r.equals("fail")) {
            settlement = "refund";
            reason = "capacity_fail";
          }
        }
        case "execution_started" -> st.put("execution", "running");
        case "execution_failed" -> {
          st.put("execution", "fail");
          settlement = "hold";
          reason = body.path("failure").asText("execution_fail");
        }
        case "execution_completed" -> st.put("execution", "pass");
        case "output_delivered" -> st.put("output", "delivered");
        case "evaluation_reported" -> {
          st.put("evaluation", body.path("result").asText("pass"));
          settlement = "pay";
          reason = "evaluated";
        }
        case "reservation_expired" -> {
          settlement = "refund";
          reason = "no_show";
        }
        case "job_cancelled" -> {
          settlement = "refund";
          reason = "cancelled";
        }
        case "review_decided" -> {
          settlement = body.path("settlement").asText("pay");
          reason = "review";
        }
        default -> st.put("last_packet", type);
      }
      long seq = st.path("seq").asLong(0) + 1;
      st.put("seq", seq);
      if (settlement != null) {
        st.put("settlement", settlement);
      }
      String prev = st.path("head").asText("0".repeat(64));
      ObjectNode row = JSON.createObjectNode();
      row.put("job_id", job).put("seq", seq).put("transition", type)
          .put("event_id", ev.path("event_id").asText(""))
          .put("occurred_at", ev.path("occurred_at").asText(""))
          .put("settlement", st.path("settlement").asText("pending"))
          .put("prev_hash", prev);
      String rowText = row.toString();
      String hash = HexFormat.of().formatHex(sha.digest(rowText.getBytes(StandardCharsets.UTF_8)));
      st.put("head", hash);
      ctx.forward(rec.withValue(rowText));
      if (settlement != null) {
        ObjectNode d = JSON.createObjectNode();
        d.put("job_id", job).put("settlement", settlement).put("reason", reason)
            .put("decided_at", ev.path("occurred_at").asText("")).put("row_hash", hash);
        ctx.forward(rec.withValue(d.toString()));
      }
      store.put(job, st.toString());
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.err.println("usage: Baseline BOOTSTRAP INPUT OUTPUT APP_ID EXPECTED [COMMIT_MS]");
      System.exit(2);
    }
    String bootstrap = args[0];
    String input = args[1];
    String output = args[2];
    String app = args[3];
    long expected = Long.parseLong(args[4]);
    String commitMs = args.length > 5 ? args[5] : "100";

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitMs);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
    p.put(StreamsConfig.STATE_DIR_CONFIG,
        System.getProperty("java.io.tmpdir") + "/kstreams-baseline-" + ProcessHandle.current().pid());
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "-1");

    AtomicLong seen = new AtomicLong();
    StreamsBuilder b = new StreamsBuilder();
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("jobs"),
        Serdes.String(), Serdes.String()));
    b.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .process(() -> new Step(seen), "jobs")
        .to(output, Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams ks = new KafkaStreams(b.build(), p);
    CountDownLatch running = new CountDownLatch(1);
    ks.setStateListener((n, o) -> {
      if (n == KafkaStreams.State.RUNNING) {
        running.countDown();
      }
    });
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long t0 = System.nanoTime();
    ks.start();
    if (!running.await(120, TimeUnit.SECONDS)) {
      System.err.println("not running after 120 s");
      System.exit(1);
    }
    long cpu0 = os.getProcessCpuTime();
    long t1 = System.nanoTime();
    long deadline = t1 + TimeUnit.SECONDS.toNanos(600);
    while (seen.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    long t2 = System.nanoTime();
    long cpu1 = os.getProcessCpuTime();
    ks.close(java.time.Duration.ofSeconds(30));
    ks.cleanUp();
    System.out.printf("processed %d in %.2f s after RUNNING (%.2f s with start-up), cpu %.2f s%n",
        seen.get(), (t2 - t1) / 1e9, (t2 - t0) / 1e9, (cpu1 - cpu0) / 1e9);
    System.exit(seen.get() >= expected ? 0 : 1);
  }
}

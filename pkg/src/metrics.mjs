// OpenTelemetry metrics of checkpointers, through the OpenTelemetry API (`@opentelemetry/api`,
// an optional peer dependency). The same meter and instruments as Python's tokenpixel.metrics:
// meter `tokenpixel`; `tokenpixel.checkpoints` (counter, {pixel}), `tokenpixel.pixel.size`
// (histogram, By), `tokenpixel.emit.latency` (histogram, s, caller side), `tokenpixel.queue.wait`
// (histogram, s, background mode, emit to durable), `tokenpixel.queue.depth` (observable gauge,
// {pixel}, background mode); attributes `agent`, `district`, `corridor` (the gauge: `agent`).
// Without the API installed nothing is loaded or recorded.
import { createRequire } from "node:module";
import { version } from "./node.mjs";

const METER_NAME = "tokenpixel";
// One per process, shared by the ESM and CommonJS copies of this module.
const SHARED = (globalThis[Symbol.for("tokenpixel.metrics")] ??= { api: undefined, byProvider: new WeakMap() });

function otelApi() {
  if (SHARED.api === undefined) {
    try {
      SHARED.api = createRequire(import.meta.url)("@opentelemetry/api");
    } catch {
      SHARED.api = null;
    }
  }
  return SHARED.api;
}

class Instruments {
  #queues = new Set();

  constructor(meter) {
    this.checkpoints = meter.createCounter("tokenpixel.checkpoints", { unit: "{pixel}", description: "Pixels made durable" });
    this.size = meter.createHistogram("tokenpixel.pixel.size", { unit: "By", description: "Canonical line size of a pixel" });
    this.latency = meter.createHistogram("tokenpixel.emit.latency", { unit: "s", description: "Time emit took on the caller" });
    this.wait = meter.createHistogram("tokenpixel.queue.wait", {
      unit: "s",
      description: "Background mode: time from emit until the pixel was durable",
    });
    const depth = meter.createObservableGauge("tokenpixel.queue.depth", {
      unit: "{pixel}",
      description: "Background mode: pixels emitted and not yet durable",
    });
    depth.addCallback((result) => {
      for (const cp of this.#queues) result.observe(cp.pending, { agent: cp.agentId });
    });
  }

  /** Reports `checkpointer.pending` in the queue gauge until `unwatchQueue`. */
  watchQueue(checkpointer) {
    this.#queues.add(checkpointer);
  }

  unwatchQueue(checkpointer) {
    this.#queues.delete(checkpointer);
  }
}

/**
 * The instruments for `provider`: true = the global meter provider as it is now, false/null =
 * off, or an OpenTelemetry MeterProvider. Undefined when off or when the API is not installed.
 */
export function instruments(provider = true) {
  if (provider === false || provider === null) return undefined;
  if (provider === true) {
    const api = otelApi();
    if (!api) return undefined;
    provider = api.metrics.getMeterProvider();
  }
  if (!provider || typeof provider.getMeter !== "function") return undefined;
  let found = SHARED.byProvider.get(provider);
  if (!found) {
    found = new Instruments(provider.getMeter(METER_NAME, version));
    SHARED.byProvider.set(provider, found);
  }
  return found;
}

const ATTRIBUTES = new Map();

/** The attributes of a pixel's measurements (cached; callers must not change them). */
export function attributes(agentId, corridorText) {
  const key = `${agentId}\n${corridorText}`;
  let attrs = ATTRIBUTES.get(key);
  if (!attrs) {
    if (ATTRIBUTES.size >= 4096) ATTRIBUTES.clear();
    attrs = Object.freeze({ agent: agentId, district: corridorText.split(".", 1)[0], corridor: corridorText });
    ATTRIBUTES.set(key, attrs);
  }
  return attrs;
}

import {
  context as otelContext,
  isSpanContextValid,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { useAsyncTrace, type TraceCarrier } from '../bus/current-trace.js';
import { createTraceIdGenerator, isW3cTraceId } from './traceparent.js';

export { SpanKind };

/**
 * Spans through the OpenTelemetry API, process-wide once a host turned tracing on (see
 * `HostOptions.tracing`). The API is a no-op until the application registers an SDK; then every
 * span goes to its exporters. A span's parent is the carried trace (`traceId` + `spanId`), so
 * spans link across processes without an OpenTelemetry context manager.
 */
let tracer: Tracer | undefined;
let nextTraceId: (() => string) | undefined;
/** The API's own no-op provider: what the global provider delegates to until an SDK registers. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/** An SDK was seen registered (it stays: the API allows registering once). */
let sdkSeen = false;

/** Turn tracing on for this process: async trace context and spans (idempotent). */
export function enableTracing(): void {
  useAsyncTrace();
  tracer ??= trace.getTracer('plugboard');
  nextTraceId ??= createTraceIdGenerator();
}

/** Are spans being started? */
export function tracingOn(): boolean {
  return tracer !== undefined;
}

/** Has the application registered an OpenTelemetry tracer provider (an SDK)? */
export function tracerProviderRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** A started span and the trace the work inside it runs on (the carrier to enter). */
export class WorkSpan implements TraceCarrier {
  constructor(
    readonly span: Span,
    readonly traceId: string,
    readonly spanId: string | undefined,
  ) {}

  /** End the span, as failed when `error` is given. */
  end(failed?: boolean, error?: unknown): void {
    if (failed === true) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof Error) this.span.recordException(error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    this.span.end();
  }

  /** End the span when `result` settles (failed if it rejects); returns nothing. */
  endWhen(result: PromiseLike<unknown>): void {
    result.then(
      () => this.end(),
      (error: unknown) => this.end(true, error),
    );
  }
}

/**
 * Start a span for work on trace `parent` (the carried one; none: a new trace, under the
 * application's active OpenTelemetry span if any). Undefined when tracing is off or no
 * OpenTelemetry SDK is registered. `attributes` are set only when the span records.
 */
export function startSpan(
  name: string,
  kind: SpanKind,
  parent: TraceCarrier | undefined,
  attributes: Attributes,
): WorkSpan | undefined {
  // No SDK: no span at all (the no-op API's spans would cost an allocation and go nowhere).
  if (tracer === undefined || (!sdkSeen && !(sdkSeen = tracerProviderRegistered())))
    return undefined;
  const span = tracer.startSpan(name, { kind }, parentContext(parent));
  const own = span.spanContext();
  const valid = isSpanContextValid(own);
  const traceId = parent?.traceId ?? (valid ? own.traceId : nextTraceId!());
  if (span.isRecording()) {
    span.setAttributes(attributes);
    if (traceId !== own.traceId) span.setAttribute('plugboard.trace_id', traceId);
  }
  return new WorkSpan(span, traceId, valid ? own.spanId : parent?.spanId);
}

/**
 * The OpenTelemetry parent of a span on `parent`'s trace: its span when carried; a trace id
 * carried without a span (passed explicitly) gets a stand-in parent span id derived from it, so
 * the span still joins that trace; a trace id that is not W3C starts a new OpenTelemetry trace
 * (the span keeps the Plugboard id as `plugboard.trace_id`).
 */
function parentContext(parent: TraceCarrier | undefined): Context {
  if (parent === undefined) return otelContext.active();
  if (!isW3cTraceId(parent.traceId)) return ROOT_CONTEXT;
  const spanId = parent.spanId ?? standInSpanId(parent.traceId);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function standInSpanId(traceId: string): string {
  const tail = traceId.slice(16);
  return /^0+$/.test(tail) ? '0000000000000001' : tail;
}

/**
 * Tracing test helpers: an OpenTelemetry SDK with an in-memory exporter registered globally
 * (as an application would register its own), a pino logger whose lines are kept as objects,
 * and the finished spans in a form that crosses process boundaries.
 */
import type { SpanKind } from '@opentelemetry/api';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { pino, type Logger } from 'pino';

/** A finished span, reduced to what the tests compare. */
export interface SpanRecord {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Record<string, unknown>;
  readonly error: boolean;
}

/** Register an SDK exporting to memory; returns a reader of the finished spans. */
export function registerInMemorySdk(): () => SpanRecord[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  return () => exporter.getFinishedSpans().map(toRecord);
}

function toRecord(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    error: span.status.code === SpanStatusCode.ERROR,
  };
}

/** A log line as pino wrote it. */
export interface LogLine {
  readonly msg: string;
  readonly traceId?: string;
  readonly [key: string]: unknown;
}

/** A pino logger that keeps its lines (parsed) instead of printing them. */
export function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

/** The one span named `name` (fails loudly when there is none or several). */
export function only(spans: readonly SpanRecord[], name: string): SpanRecord {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one span "${name}", got ${found.length}: ${spans.map((s) => s.name).join(', ')}`,
    );
  }
  return found[0]!;
}

/** Poll `check` every 5 ms until it holds; reject after `ms` with `what`. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

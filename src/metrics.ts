import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one Roster process (served at /metrics). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'roster_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'roster_rate_limited_total',
    help: 'Requests refused with 429 by the per-credential rate limit',
    registers: [this.registry],
  });
  readonly authRefused = new Counter({
    name: 'roster_auth_refused_total',
    help: 'SCIM requests refused by authentication: unauthorized (401) or blocked (429, the address is over its failed-authentication budget)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly poolUsed = new Gauge({ name: 'roster_db_pool_used', help: 'Database connections in use', registers: [this.registry] });
  readonly poolFree = new Gauge({ name: 'roster_db_pool_free', help: 'Idle database connections', registers: [this.registry] });
  readonly poolPending = new Gauge({
    name: 'roster_db_pool_pending',
    help: 'Requests waiting for a database connection',
    registers: [this.registry],
  });
  readonly receiversFailing = new Gauge({
    name: 'roster_event_receivers_failing',
    help: 'Push receivers of security events failing for 72 hours or more (still retried; their events are kept)',
    registers: [this.registry],
  });

  readonly requestLogWritten = new Counter({
    name: 'roster_request_log_written_total',
    help: 'Request log entries stored',
    registers: [this.registry],
  });
  readonly requestLogDropped = new Counter({
    name: 'roster_request_log_dropped_total',
    help: 'Request log entries dropped: full (the writer fell behind and dropped its oldest) or failed (the database refused their batch)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly requestLogPending = new Gauge({
    name: 'roster_request_log_pending',
    help: 'Request log entries waiting for their batch',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'roster_' });
  }
}

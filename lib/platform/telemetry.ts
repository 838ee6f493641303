import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Starts OpenTelemetry for a process. Traces are exported only when an OTLP endpoint is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT, the standard variable), so a laptop without a collector logs no export errors.
 */
export function startTelemetry(serviceName: string): { shutdown(): Promise<void> } {
  if (!process.env['OTEL_EXPORTER_OTLP_ENDPOINT']) process.env['OTEL_TRACES_EXPORTER'] ??= 'none';
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  const sdk = new NodeSDK({ serviceName });
  sdk.start();
  return sdk;
}

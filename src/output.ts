/**
 * The command line's rendering: colour policy, `-v` lines and `--json`
 * events, the `--stats` tables, `--hex-dump`, the spinner and the error
 * line. Everything here takes its streams, clock and options explicitly;
 * the core never prints, the CLI renders through this module.
 *
 * ora and cli-table3 are loaded only when a spinner starts or a table is
 * rendered.
 *
 * @module
 */

export { colorEnabled, type ColorPolicyOptions } from './output/color.js';
export { formatBytes, formatDuration, formatRate, formatThroughput } from './output/units.js';
export {
  EventRenderer,
  formatEvent,
  formatEventJson,
  type EventFormatOptions,
  type EventRendererOptions,
} from './output/events.js';
export { renderStatsJson, renderStatsTable, type StatsTableOptions } from './output/stats.js';
export { createHexDumper, hexDumpLines, type HexDirection, type HexDumperOptions } from './output/hexdump.js';
export {
  spinnerEnabled,
  startSpinner,
  type Spinner,
  type SpinnerOptions,
  type SpinnerPolicyOptions,
  type SpinnerStream,
} from './output/spinner.js';
export { formatError, type ErrorFormatOptions } from './output/errors.js';
export { Output, type OutputOptions } from './output/facade.js';
export {
  formatDaysLeft,
  formatKey,
  formatUTC,
  renderCertificateTable,
  renderTLSOutput,
  renderTLSReport,
  type TLSReportData,
  type TLSReportOptions,
} from './output/certs.js';

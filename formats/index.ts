/**
 * Dataset formats: rows of TRL pairs, multi-response, chat and HH-RLHF data, in JSONL, gzipped
 * JSONL or Parquet, parsed and normalized. Pure: streams in, records out; no S3, no Temporal,
 * no files (a Parquet file is spooled where the caller says). store/ and activities/ import it;
 * it imports nothing of bpoflow's other layers.
 */
export * from './records.js';
export * from './hh.js';
export * from './lines.js';
export {
  DatasetFormatError,
  memorySpool,
  rawRows,
  sniffContainer,
  type Container,
  type RawRow,
  type Spool,
  type SpooledFile,
} from './containers.js';
export * from './read.js';
export * from './jsonl.js';

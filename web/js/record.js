// rrweb's recorder, for /t-replay.js: the collector appends heatpipe's own sender to it.
import { record } from "@rrweb/record";

window.heatpipeRrwebRecord = record;

// rrweb's replayer, for the viewer's player.
import { Replayer } from "@rrweb/replay";

window.heatpipeRrwebReplayer = Replayer;

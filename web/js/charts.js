// uPlot, for the viewer's dashboard trends and funnel bars.
import uPlot from "uplot";

window.uPlot = uPlot;

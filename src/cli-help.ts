/** The text of `gpu-lens --help` (also `-h`, `help`, and `--help` after a command). */
export const HELP = `gpu-lens: puts Nsight Systems and torch.profiler GPU time on Python source lines.

Usage:
  gpu-lens analyze <trace-file|folder> [options]   print the Report of one trace
  gpu-lens summarize <trace-file> -o <summary|folder/> [--max-events N]
                                                   reduce one rank's trace to a summary (.gpulens)
  gpu-lens mcp [--workspace DIR] [--path-map FROM=TO]... [TRACE...]
                                                   serve the agent tools over MCP (stdio)
  gpu-lens --help                                  this text

Traces: an nsys SQLite export (.sqlite), an .nsys-rep (exported with the installed nsys),
a torch.profiler / Kineto JSON trace (.json, .json.gz), a summary of one (.gpulens), or a
folder of per-rank traces or summaries.

Options of analyze:
  --workspace DIR         the source tree the trace's Python frames are mapped onto
                          (default: the current folder)
  --path-map FROM=TO      rewrite a path prefix recorded in the trace (another machine or a
                          container) to a local one; may be given more than once
  --format FORMAT         json (default), markdown, or sarif (SARIF 2.1.0 for code scanning)
  --baseline TRACE        also compare with this earlier trace
  --threshold PCT         relative change flagged in the comparison (default 10)
  --fail-on LEVEL         exit 3 when a finding is at least this severe: warning or error
  --max-events N          refuse a trace holding more than N events (default 10000000)
  --no-library-fallback   leave the time of stacks with no workspace frame unattributed
                          (default: on the innermost library frame, e.g. a transformers line)
  -h, --help              this text

summarize reads one rank's trace (the costly part: parsing, linking, stacks) and writes what
the Report needs, compact and versioned; analyze on a folder of summaries gives the same Report
as on the folder of traces. Run it where the traces are, one task per rank, e.g. under Slurm:
  srun -n 8 sh -c 'gpu-lens summarize traces/rank$SLURM_PROCID.json.gz -o summaries/'
  gpu-lens analyze summaries/
  --output OUT, -o OUT    the summary file, or a folder (OUT/ or an existing one) to write
                          <trace name>.gpulens into (rank3.json.gz -> rank3.gpulens)
  --max-events N          as for analyze

Exit status: 0 done, 3 a finding as severe as --fail-on, 2 a wrong command line, 1 any other
error (one line on stderr).`;

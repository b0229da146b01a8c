"""One fresh process, as spark-submit would start: time the session, then the job.

Usage: python -m bench.spark_child MASTER INPUT OUTPUT
Prints one JSON line: {"startup_s": ..., "job_s": ...}.
"""

from __future__ import annotations

import json
import sys
import time

from jobs import label_mining

master, source, target = sys.argv[1:4]
started = time.perf_counter()
spark = label_mining.session(master, app_name="medialens-bench")
spark.sparkContext.setLogLevel("ERROR")
ready = time.perf_counter()
options, _ = label_mining.parse_args(
    ["--input", source, "--output", target, "--max-iterations", "10"]
)
label_mining.run(spark, options)
done = time.perf_counter()
spark.stop()
print(json.dumps({"startup_s": ready - started, "job_s": done - ready}))

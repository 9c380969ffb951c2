"""The Dask engine: the same pipeline functions per partition of the Parquet lake, on a cluster.

`plan` splits the lake into partitions no correlation link crosses; `metrics`, `training` and
`scoring` are `vsmml metrics`, `vsmml train risk` and `vsmml risk` with ``--engine dask``;
`cluster` reaches a scheduler or starts a LocalCluster (Dask is imported only there).
"""

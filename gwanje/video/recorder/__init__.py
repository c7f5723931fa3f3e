"""The recorder (`gwanje recorder`): one supervised ffmpeg per centrally recorded camera, copying its
RTSP main stream into fixed-length fMP4 segments that are hashed, moved into the segment store and
indexed (RecordingSession, Segment, RecordingGap); camera health (CameraFault, Camera.status) comes
from what ffmpeg does.

- config.py      typed configuration (RecorderConfig, RecordJob, FfmpegArgs)
- argv.py        pure functions: URL allow-list, the ffmpeg argv, redaction of credentials
- playlist.py    pure parser of the HLS playlist ffmpeg writes (stream time of each segment)
- ingest.py      one recording session: new segments → store + index, gaps, recovery of a spool dir
- supervisor.py  the process supervisor (start, watch, back-off, hang kill, reap, shutdown)
"""

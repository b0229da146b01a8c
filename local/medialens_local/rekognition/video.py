"""Rekognition Video's Start/Get operations, answered by sampling frames with the local models.

A Start call reads the video from S3 (a missing object is refused there and then), queues
the job and returns its JobId at once, as Rekognition does; one background worker decodes
the video (PyAV), samples a few frames per second, runs the image engines on them, and
publishes the completion message to the job's SNS topic. Get calls order the stored
results by ``SortBy`` and page through them with ``MaxResults`` and ``NextToken``.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medialens_local.rekognition.collections import FaceCollections
from medialens_local.rekognition.engines.faces import describe, face_engine
from medialens_local.rekognition.engines.labels import MODEL_VERSION as LABEL_MODEL
from medialens_local.rekognition.engines.labels import label_engine
from medialens_local.rekognition.engines.moderation import LABEL as EXPLICIT
from medialens_local.rekognition.engines.moderation import MODEL_VERSION as MODERATION_MODEL
from medialens_local.rekognition.engines.moderation import moderation_engine
from medialens_local.rekognition.engines.text import MODEL_VERSION as TEXT_MODEL
from medialens_local.rekognition.engines.text import TextPiece, text_engine
from medialens_local.rekognition.images import LoadedImage, ObjectReader, bounding_box
from medialens_local.rekognition.protocol import Operation, RekognitionError
from medialens_local.rekognition.service import label_document

MAX_RESULTS = 1000
SAMPLES_PER_SECOND = 2.0
"""Frames analysed per second of video (Rekognition samples more densely)."""
SHOT_CHANGE = 0.35
"""Histogram distance between consecutive frames above which a new shot starts."""
BLACK_LUMA = 16.0

API_NAMES = {
    "LabelDetection": "LABEL_DETECTION",
    "TextDetection": "TEXT_DETECTION",
    "FaceDetection": "FACE_DETECTION",
    "FaceSearch": "FACE_SEARCH",
    "ContentModeration": "CONTENT_MODERATION",
    "SegmentDetection": "SEGMENT_DETECTION",
    "CelebrityRecognition": "CELEBRITY_RECOGNITION",
    "PersonTracking": "PERSON_TRACKING",
}
RESULTS_KEY = {
    "LabelDetection": "Labels",
    "TextDetection": "TextDetections",
    "FaceDetection": "Faces",
    "FaceSearch": "Persons",
    "ContentModeration": "ModerationLabels",
    "SegmentDetection": "Segments",
}
"""Analyses with a local model; celebrities and person tracking have none."""

Publisher = Callable[[str, str], None]
"""Publishes (topic ARN, message) to SNS."""

SortKey = Callable[[dict[str, Any]], tuple[Any, ...]]


def _at(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["Timestamp"],)


def _by_name(detection: str) -> SortKey:
    # Names alphabetically, each name's detections by confidence, highest first.
    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        found = item[detection]
        return (found["Name"], -float(found["Confidence"]), item["Timestamp"])

    return key


def _by_person(item: dict[str, Any]) -> tuple[Any, ...]:
    # One person's sightings together, by the confidence of their detection, highest first.
    person = item["Person"]
    return (
        person["Index"],
        -float(person.get("Face", {}).get("Confidence", 0.0)),
        item["Timestamp"],
    )


def _by_celebrity(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["Celebrity"]["Id"], item["Timestamp"])


SORTS: dict[str, dict[str, SortKey]] = {
    # The Get* operations' SortBy (Rekognition API reference, e.g.
    # https://docs.aws.amazon.com/rekognition/latest/APIReference/API_GetLabelDetection.html):
    # TIMESTAMP, the default, orders by the time of detection; NAME groups one label's
    # detections, by confidence; INDEX groups one person's (by confidence for person
    # tracking); ID groups one celebrity's.
    "LabelDetection": {"TIMESTAMP": _at, "NAME": _by_name("Label")},
    "ContentModeration": {"TIMESTAMP": _at, "NAME": _by_name("ModerationLabel")},
    "FaceSearch": {"TIMESTAMP": _at, "INDEX": _by_person},
    "PersonTracking": {"TIMESTAMP": _at, "INDEX": _by_person},
    "CelebrityRecognition": {"TIMESTAMP": _at, "ID": _by_celebrity},
}
"""Analyses whose Get* takes ``SortBy`` -> its values -> the order each names."""


def ordered(name: str, results: list[dict[str, Any]], sort_by: str | None) -> list[dict[str, Any]]:
    """Order a job's results as ``SortBy`` asks of ``Get{name}`` (by time when absent).

    Sorting is stable: detections the order does not tell apart keep their analysis order.
    """
    sorts = SORTS.get(name)
    if sorts is None:
        return results
    return sorted(results, key=sorts[sort_by or "TIMESTAMP"])


def _parameters(request: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the Start parameters a reused ``ClientRequestToken`` must repeat."""
    return {k: v for k, v in request.items() if k != "ClientRequestToken" and v is not None}


@dataclass
class Frame:
    """One sampled frame."""

    timestamp_ms: int
    pixels: np.ndarray

    @property
    def image(self) -> LoadedImage:
        """The frame as the image engines' helpers expect it."""
        height, width = self.pixels.shape[:2]
        return LoadedImage(pixels=self.pixels, width=width, height=height)


@dataclass
class VideoJob:
    """One local job and its results."""

    job_id: str
    api: str
    request: dict[str, Any]
    status: str = "IN_PROGRESS"
    status_message: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _frames(data: bytes, every_ms: float) -> tuple[dict[str, Any], Iterator[Frame]]:
    """Video metadata and a generator over frames, one per ``every_ms`` (all when 0)."""
    import av

    container = av.open(io.BytesIO(data), mode="r")
    stream = container.streams.video[0]
    if stream.codec_context.name != "h264":
        container.close()
        raise RekognitionError(
            "InvalidParameterException", f"codec {stream.codec_context.name} is not H.264"
        )
    duration_s = float(stream.duration * stream.time_base) if stream.duration else 0.0
    rate = float(stream.average_rate or 0)
    metadata = {
        "Codec": "h264",
        "DurationMillis": round(duration_s * 1000),
        "Format": "QuickTime / MOV",
        "FrameRate": rate,
        "FrameHeight": stream.codec_context.height,
        "FrameWidth": stream.codec_context.width,
        "ColorRange": "LIMITED",
    }

    def generate() -> Iterator[Frame]:
        next_ms = 0.0
        with container:
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                timestamp_ms = float(frame.pts * frame.time_base) * 1000
                if timestamp_ms + 0.5 < next_ms:
                    continue
                next_ms = timestamp_ms + every_ms
                yield Frame(round(timestamp_ms), frame.to_ndarray(format="rgb24"))

    return metadata, generate()


def _smpte(ms: int, rate: float) -> str:
    total_frames = round(ms / 1000 * rate) if rate else 0
    frames_per_second = max(1, round(rate))
    seconds, frame = divmod(total_frames, frames_per_second)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{second:02d}:{frame:02d}"


class LocalVideo:
    """Start*/Get* for video, over objects in the local S3.

    Parameters
    ----------
    read_object : ObjectReader
        Reads (bucket, key, version) from the local S3.
    publish : Publisher
        Publishes a completion message to an SNS topic.
    collections : FaceCollections
        The image service's face collections (face search reads them).
    concurrent_jobs : int
        Rekognition's quota of concurrent jobs (20 by default); a Start call beyond it
        is answered with ``LimitExceededException``.
    """

    def __init__(
        self,
        read_object: ObjectReader,
        publish: Publisher,
        collections: FaceCollections,
        concurrent_jobs: int = 20,
    ) -> None:
        self._read_object = read_object
        self._publish = publish
        self._collections = collections
        self.concurrent_jobs = concurrent_jobs
        self._jobs: dict[str, VideoJob] = {}
        self._tokens: dict[tuple[str, str], VideoJob] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-video")

    def operations(self) -> dict[str, Operation]:
        """Operation name -> implementation, for every video analysis."""
        found: dict[str, Operation] = {}
        for name in API_NAMES:
            found[f"Start{name}"] = self._starter(name)
            found[f"Get{name}"] = self._getter(name)
        return found

    def in_progress(self) -> int:
        """How many jobs are queued or running."""
        with self._lock:
            return sum(job.status == "IN_PROGRESS" for job in self._jobs.values())

    def shutdown(self) -> None:
        """Stop the worker (queued jobs are dropped)."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _starter(self, name: str) -> Operation:
        def start(request: dict[str, Any]) -> dict[str, Any]:
            return self.start(name, request)

        return start

    def _getter(self, name: str) -> Operation:
        def get(request: dict[str, Any]) -> dict[str, Any]:
            return self.get(name, request)

        return get

    def start(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """Queue a job: the same ClientRequestToken and parameters return the same JobId.

        Raises
        ------
        RekognitionError
            ``IdempotentParameterMismatchException`` when the token was used with other
            parameters, ``InvalidS3ObjectException`` when the video is not in S3,
            ``LimitExceededException`` beyond the concurrent job quota.
        """
        if name not in RESULTS_KEY:
            raise RekognitionError(
                "InvalidParameterException", f"the local Rekognition has no model for Start{name}"
            )
        s3_object = request.get("Video", {}).get("S3Object")
        if not s3_object or "Bucket" not in s3_object or "Name" not in s3_object:
            raise RekognitionError("InvalidParameterException", "Video.S3Object is required")
        channel = request.get("NotificationChannel", {})
        if channel and not str(channel.get("RoleArn", "")).startswith("arn:aws:iam::"):
            raise RekognitionError("InvalidParameterException", "NotificationChannel.RoleArn")
        token = request.get("ClientRequestToken")
        with self._lock:
            known = self._known(name, token, request)
        if known:
            return {"JobId": known}
        try:
            data = self._read_object(
                s3_object["Bucket"], s3_object["Name"], s3_object.get("Version")
            )
        except KeyError as error:
            # Start* checks the object before it queues the job; InvalidS3ObjectException is
            # among their documented errors (Rekognition API reference,
            # https://docs.aws.amazon.com/rekognition/latest/APIReference/API_StartLabelDetection.html).
            raise RekognitionError(
                "InvalidS3ObjectException",
                "Unable to get object metadata from S3. Check object key, region and/or access "
                "permissions.",
            ) from error
        with self._lock:
            if known := self._known(name, token, request):
                return {"JobId": known}
            running = sum(job.status == "IN_PROGRESS" for job in self._jobs.values())
            if running >= self.concurrent_jobs:
                raise RekognitionError(
                    "LimitExceededException",
                    f"{running} jobs in progress; the quota is {self.concurrent_jobs}",
                )
            job = VideoJob(job_id=uuid.uuid4().hex, api=name, request=request)
            self._jobs[job.job_id] = job
            if token:
                self._tokens[(name, token)] = job
        self._worker.submit(self._run, job, data)
        return {"JobId": job.job_id}

    def _known(self, name: str, token: str | None, request: dict[str, Any]) -> str | None:
        """Find the JobId a token already started (None if none); refuse other parameters.

        The caller holds the lock.
        """
        job = self._tokens.get((name, token)) if token else None
        if job is None:
            return None
        if _parameters(job.request) != _parameters(request):
            # A token "reused with an operation, but at least one of the other input parameters
            # is different from the previous call" (Rekognition developer guide, Error
            # handling: https://docs.aws.amazon.com/rekognition/latest/dg/error-handling.html).
            raise RekognitionError(
                "IdempotentParameterMismatchException",
                f"The ClientRequestToken: {token} you have supplied is already in use.",
            )
        return job.job_id

    def get(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """One page of a job's results."""
        with self._lock:
            job = self._jobs.get(str(request.get("JobId")))
        if job is None or job.api != name:
            raise RekognitionError("ResourceNotFoundException", "no such job")
        # MaxResults: at least 1 (the model's min, refused before this); above 1000, 1000
        # (API reference, e.g. API_GetLabelDetection.html).
        limit = min(int(request.get("MaxResults", MAX_RESULTS)), MAX_RESULTS)
        offset = self._offset(job, request.get("NextToken"))
        response: dict[str, Any] = {"JobStatus": job.status, "JobId": job.job_id}
        if job.request.get("JobTag"):
            response["JobTag"] = job.request["JobTag"]
        response["Video"] = job.request["Video"]
        if job.status_message:
            response["StatusMessage"] = job.status_message
        if job.status != "SUCCEEDED":
            return response
        # Segment detection reports one metadata entry per video stream, as a list.
        response["VideoMetadata"] = [job.metadata] if name == "SegmentDetection" else job.metadata
        results = ordered(name, job.results, request.get("SortBy"))
        response[RESULTS_KEY[name]] = results[offset : offset + limit]
        response.update(job.extra)
        if offset + limit < len(job.results):
            response["NextToken"] = self._token(job, offset + limit)
        return response

    @staticmethod
    def _token(job: VideoJob, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{job.job_id}:{offset}".encode()).decode()

    @staticmethod
    def _offset(job: VideoJob, token: Any) -> int:
        if not token:
            return 0
        try:
            job_id, offset = base64.urlsafe_b64decode(str(token)).decode().split(":")
            position = int(offset)
        except (ValueError, binascii.Error) as error:
            raise RekognitionError(
                "InvalidPaginationTokenException", "Invalid pagination token"
            ) from error
        if job_id != job.job_id or not 0 <= position <= len(job.results):
            raise RekognitionError("InvalidPaginationTokenException", "Invalid pagination token")
        return position

    def _run(self, job: VideoJob, data: bytes) -> None:
        try:
            every_ms = 0.0 if job.api == "SegmentDetection" else 1000 / SAMPLES_PER_SECOND
            metadata, frames = _frames(data, every_ms)
            job.metadata = metadata
            job.results = list(self._analyse(job, frames, metadata))
            job.status = "SUCCEEDED"
        except RekognitionError as error:
            job.status, job.status_message = "FAILED", error.message
        except Exception as error:  # noqa: BLE001 - reported as Rekognition reports it
            job.status, job.status_message = "FAILED", f"{type(error).__name__}: {error}"
        self._notify(job)

    def _notify(self, job: VideoJob) -> None:
        channel = job.request.get("NotificationChannel")
        if not channel:
            return
        s3_object = job.request["Video"]["S3Object"]
        message: dict[str, Any] = {
            "JobId": job.job_id,
            "Status": job.status,
            "API": API_NAMES[job.api],
            "Timestamp": int(time.time() * 1000),
            "Video": {"S3ObjectName": s3_object["Name"], "S3Bucket": s3_object["Bucket"]},
        }
        if job.request.get("JobTag"):
            message["JobTag"] = job.request["JobTag"]
        if job.status_message:
            message["Message"] = job.status_message
        self._publish(channel["SNSTopicArn"], json.dumps(message))

    def _analyse(
        self, job: VideoJob, frames: Iterator[Frame], metadata: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        request = job.request
        if job.api == "LabelDetection":
            min_confidence = float(request.get("MinConfidence", 50.0))
            job.extra = {"LabelModelVersion": LABEL_MODEL}
            for frame in frames:
                for prediction in label_engine().predict(
                    frame.pixels, min_confidence=min_confidence
                ):
                    yield {"Timestamp": frame.timestamp_ms, "Label": label_document(prediction)}
        elif job.api == "TextDetection":
            job.extra = {"TextModelVersion": TEXT_MODEL}
            for frame in frames:
                yield from self._text(frame)
        elif job.api == "FaceDetection":
            for frame in frames:
                image = frame.image
                for face in face_engine().faces(frame.pixels):
                    yield {
                        "Timestamp": frame.timestamp_ms,
                        "Face": describe(face, image.width, image.height),
                    }
        elif job.api == "FaceSearch":
            yield from self._face_search(request, frames)
        elif job.api == "ContentModeration":
            job.extra = {"ModerationModelVersion": MODERATION_MODEL}
            min_confidence = float(request.get("MinConfidence", 50.0))
            for frame in frames:
                confidence = moderation_engine().explicit_confidence(frame.pixels)
                if confidence >= min_confidence:
                    yield {
                        "Timestamp": frame.timestamp_ms,
                        "ModerationLabel": {
                            "Name": EXPLICIT,
                            "ParentName": "",
                            "Confidence": confidence,
                            "TaxonomyLevel": 1,
                        },
                    }
        elif job.api == "SegmentDetection":
            types = request.get("SegmentTypes") or ["SHOT", "TECHNICAL_CUE"]
            job.extra = {
                "SelectedSegmentTypes": [
                    {"Type": kind, "ModelVersion": "local-histogram"} for kind in types
                ],
                "AudioMetadata": [],
            }
            yield from segments(frames, types, float(metadata["FrameRate"]))

    def _text(self, frame: Frame) -> Iterator[dict[str, Any]]:
        image = frame.image
        next_id = 0
        for line in text_engine().read(frame.pixels):
            line_id = next_id
            pieces: list[tuple[str, TextPiece, int | None]] = [("LINE", line.line, None)]
            pieces += [("WORD", word, line_id) for word in line.words]
            for kind, piece, parent in pieces:
                xs = [x for x, _ in piece.corners]
                ys = [y for _, y in piece.corners]
                detection: dict[str, Any] = {
                    "DetectedText": piece.text,
                    "Type": kind,
                    "Id": next_id,
                    "Confidence": piece.score * 100,
                    "Geometry": {
                        "BoundingBox": bounding_box(min(xs), min(ys), max(xs), max(ys), image),
                        "Polygon": [
                            {"X": x / image.width, "Y": y / image.height} for x, y in piece.corners
                        ],
                    },
                }
                if parent is not None:
                    detection["ParentId"] = parent
                next_id += 1
                yield {"Timestamp": frame.timestamp_ms, "TextDetection": detection}

    def _face_search(
        self, request: dict[str, Any], frames: Iterator[Frame]
    ) -> Iterator[dict[str, Any]]:
        collection_id = str(request.get("CollectionId", ""))
        threshold = float(request.get("FaceMatchThreshold", 80.0))
        for frame in frames:
            image = frame.image
            for index, face in enumerate(face_engine().faces(frame.pixels)):
                detail = describe(face, image.width, image.height)
                yield {
                    "Timestamp": frame.timestamp_ms,
                    "Person": {
                        "Index": index,
                        "BoundingBox": detail["BoundingBox"],
                        "Face": detail,
                    },
                    "FaceMatches": self._collections.search(
                        collection_id, face.embedding, threshold=threshold, max_faces=5
                    ),
                }


def _histogram(pixels: np.ndarray) -> np.ndarray:
    small = pixels[::4, ::4].reshape(-1, 3) // 32
    codes = small[:, 0] * 64 + small[:, 1] * 8 + small[:, 2]
    counts = np.bincount(codes.astype(np.int64), minlength=512).astype(np.float64)
    normalised: np.ndarray = counts / counts.sum()
    return normalised


@dataclass(frozen=True)
class FrameSummary:
    """What segment detection keeps of a frame: never its pixels."""

    timestamp_ms: int
    histogram: np.ndarray
    dark: bool


def segments(frames: Iterator[Frame], types: list[str], rate: float) -> Iterator[dict[str, Any]]:
    """Shots (histogram cuts) and black-frame technical cues, in Rekognition's shape."""
    seen = [
        FrameSummary(f.timestamp_ms, _histogram(f.pixels), float(f.pixels.mean()) < BLACK_LUMA)
        for f in frames
    ]
    if not seen:
        return
    end_ms = seen[-1].timestamp_ms + (round(1000 / rate) if rate else 0)

    def stop_ms(index: int) -> int:
        return seen[index].timestamp_ms if index < len(seen) else end_ms

    def segment(kind: str, first: int, stop: int) -> dict[str, Any]:
        start, end = seen[first].timestamp_ms, stop_ms(stop)
        return {
            "Type": kind,
            "StartTimestampMillis": start,
            "EndTimestampMillis": end,
            "DurationMillis": end - start,
            "StartTimecodeSMPTE": _smpte(start, rate),
            "EndTimecodeSMPTE": _smpte(end, rate),
            "DurationSMPTE": _smpte(end - start, rate),
            "StartFrameNumber": first,
            "EndFrameNumber": stop - 1,
            "DurationFrames": stop - first,
        }

    if "SHOT" in types:
        cuts = [0]
        for index in range(1, len(seen)):
            change = 0.5 * float(np.abs(seen[index].histogram - seen[index - 1].histogram).sum())
            if change > SHOT_CHANGE:
                cuts.append(index)
        cuts.append(len(seen))
        for shot, (first, stop) in enumerate(itertools.pairwise(cuts)):
            item = segment("SHOT", first, stop)
            item["ShotSegment"] = {"Index": shot, "Confidence": 90.0}
            yield item
    if "TECHNICAL_CUE" in types:
        index = 0
        while index < len(seen):
            if not seen[index].dark:
                index += 1
                continue
            first = index
            while index < len(seen) and seen[index].dark:
                index += 1
            item = segment("TECHNICAL_CUE", first, index)
            item["TechnicalCueSegment"] = {"Type": "BlackFrames", "Confidence": 95.0}
            yield item

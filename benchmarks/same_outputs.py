"""Check that two checkouts of the project augment byte-identically for the same seeds.

Speed work on the occlusion core must not change a single output. This script digests (SHA-256) every output
image, mask and provenance record of a few thousand seeded augmentations (every configuration, mask policy,
dtype and layout, images with and without a mask, small, odd-sized, large and larger-than-the-noise-texture images,
the ``tiaug augment`` pipeline and the paper's training preset), once with each checkout on ``PYTHONPATH``, and
reports the first difference of each case.

    python benchmarks/same_outputs.py --reference /path/to/other/checkout [--candidate .] [--n 400]

``--digest-only`` prints this checkout's digests as JSON (what each side runs in its own process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"<none>")
        elif isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _faces(n: int, height: int, width: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    from tiaug.synth import generate_face

    rng = np.random.default_rng(seed)
    for _ in range(n):
        face = generate_face(height, width, rng)
        yield face.image, face.mask


def _reseed(pipeline: object, seed: int) -> None:
    """Seed a pipeline as this checkout's training and ``tiaug augment`` do."""
    try:
        from tiaug.seeding import seed_pipeline
    except ImportError:  # a checkout from before tiaug.seeding: Albumentations' own (one seed for every step)
        pipeline.set_random_seed(seed)  # type: ignore[attr-defined]
    else:
        seed_pipeline(pipeline, seed)


def _pipeline_case(build: Callable[[], object], images: list, use_mask: bool, layout: Callable) -> list[str]:
    from tiaug.provenance import applied_params

    pipeline = build()
    out = []
    for k, (image, mask) in enumerate(images):
        _reseed(pipeline, 1000 + k)
        data = {"image": layout(image)}
        if use_mask:
            data["mask"] = mask
        result = pipeline(**data)
        out.append(_digest(result["image"], result.get("mask"), applied_params(result)))
    return out


def _functional_case(images: list, **kwargs: object) -> list[str]:
    from tiaug.functional import OcclusionConfig, occlude, thermal_noise

    config = OcclusionConfig(**kwargs.pop("config", {}))
    out = []
    for k, (image, mask) in enumerate(images):
        rng = np.random.default_rng(k)
        occluded, new_mask, params = occlude(image, mask, rng=rng, config=config, **kwargs)
        noise_result = thermal_noise(occluded, rng=rng)  # (image, params) before the one calling convention
        noisy, noise = noise_result[0], noise_result[-1]
        out.append(_digest(occluded, noisy, new_mask, params, noise))
    return out


def digests(n: int) -> dict[str, list[str]]:
    """Case name -> one digest per augmented image."""
    import albumentations as A

    from tiaug.presets import paper_training_pipeline, tiaug_pipeline
    from tiaug.transforms import ThermalNoise, TiAugOcclusion

    faces = list(_faces(n, 256, 320, 0))
    small = list(_faces(max(n // 4, 1), 24, 40, 1))
    odd = list(_faces(max(n // 4, 1), 97, 131, 2))
    large = list(_faces(max(n // 40, 1), 1100, 300, 3))
    huge = list(_faces(max(n // 200, 1), 1100, 960, 4))  # more pixels than the noise texture: a fresh field
    plain = [(image, None) for image, _ in faces[: max(n // 4, 1)]]

    def compose(**occlusion: object) -> Callable[[], A.Compose]:
        return lambda: A.Compose([TiAugOcclusion(p=1, **occlusion), ThermalNoise(p=1)], save_applied_params=True)

    same = lambda image: image  # noqa: E731
    cases: dict[str, list[str]] = {
        "augment pipeline (mixed)": _pipeline_case(tiaug_pipeline, faces, True, same),
        "augment pipeline, no mask": _pipeline_case(tiaug_pipeline, plain, False, same),
        "augment pipeline, float64": _pipeline_case(tiaug_pipeline, faces[: n // 4], True, lambda i: i.astype(float)),
        "augment pipeline, (H, W, 1)": _pipeline_case(tiaug_pipeline, faces[: n // 4], True, lambda i: i[:, :, None]),
        "augment pipeline, 24x40": _pipeline_case(tiaug_pipeline, small, True, same),
        "augment pipeline, 97x131": _pipeline_case(tiaug_pipeline, odd, True, same),
        "augment pipeline, 1100x300": _pipeline_case(tiaug_pipeline, large, True, same),
        "augment pipeline, 1100x960 (exact noise)": _pipeline_case(tiaug_pipeline, huge, True, same),
        "paper preset": _pipeline_case(lambda: paper_training_pipeline(save_applied_params=True), faces, True, same),
    }
    for configuration in ("single", "dual", "connected"):
        for policy in ("keep", "background", "ignore"):
            build = compose(configurations={configuration: 1.0}, mask_policy=policy)
            cases[f"{configuration}, mask {policy}"] = _pipeline_case(build, faces[: n // 2], True, same)
    for relation in ("any", "lower", "higher"):
        build = compose(temperature_relation=relation, vertices_range=(2, 6), spikiness_range=(0.5, 1.0))
        cases[f"relation {relation}, spiky"] = _pipeline_case(build, faces[: n // 4], True, same)
    cases["texture_std 0, exact noise"] = _pipeline_case(
        lambda: A.Compose(
            [TiAugOcclusion(p=1, texture_std=0.0), ThermalNoise(p=1, exact=True)], save_applied_params=True
        ),
        faces[: n // 4],
        True,
        same,
    )
    cases["functional occlude + thermal_noise"] = _functional_case(faces[: n // 2], mask_policy="ignore")
    cases["functional, no mask, tiny sizes"] = _functional_case(plain, config={"size_range": (0.001, 0.01)})
    return cases


def _run(tree: Path, n: int) -> dict[str, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--digest-only", "--n", str(n)]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"digests failed with PYTHONPATH={tree}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="the other checkout (e.g. a copy of main)")
    parser.add_argument("--candidate", type=Path, default=REPO, help="this checkout (default: the script's)")
    parser.add_argument("--n", type=int, default=400, help="256x320 faces per case (other cases scale with it)")
    parser.add_argument("--digest-only", action="store_true", help="print this checkout's digests as JSON")
    args = parser.parse_args()
    if args.digest_only:
        json.dump(digests(args.n), sys.stdout)
        return
    if args.reference is None:
        parser.error("--reference is required (or --digest-only)")
    reference, candidate = _run(args.reference.resolve(), args.n), _run(args.candidate.resolve(), args.n)
    total = differ = 0
    for case, expected in reference.items():
        got = candidate.get(case, [])
        bad = [k for k, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b]
        if len(got) != len(expected):
            bad.append(min(len(got), len(expected)))
        total += len(expected)
        differ += bool(bad)
        print(
            f"{'same' if not bad else 'DIFFERENT':9s} {len(expected):5d} outputs  {case}"
            + (f"  (first difference at item {bad[0]})" if bad else "")
        )
    print(f"\n{total} seeded outputs compared, {differ} case(s) differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()

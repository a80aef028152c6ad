import math
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from samcl.metrics import ConfusionMatrix, all_reduce_confusion_matrix


def _hand_case():
    """3 classes, 2 images of 2x3, one ignored pixel.

    target            pred
    [[0 0 1]          [[0 1 1]
     [2 2 255]]        [2 0 1]]        image 1
    [[1 1 0]          [[1 1 0]
     [0 2 2]]          [0 2 1]]        image 2
    Counted pairs (true, pred): (0,0) x3, (0,1) x1, (1,1) x3, (2,2) x2, (2,0) x1, (2,1) x1 (11 pixels).
    Matrix [t, p] = [[3, 1, 0], [0, 3, 0], [1, 1, 2]]; row sums 4, 3, 4; column sums 4, 5, 2.
    IoU0 = 3 / (4 + 4 - 3) = 3/5, IoU1 = 3 / (3 + 5 - 3) = 3/5, IoU2 = 2 / (4 + 2 - 2) = 2/4.
    """
    target = np.array([[[0, 0, 1], [2, 2, 255]], [[1, 1, 0], [0, 2, 2]]])
    pred = np.array([[[0, 1, 1], [2, 0, 1]], [[1, 1, 0], [0, 2, 1]]])
    matrix = np.array([[3, 1, 0], [0, 3, 0], [1, 1, 2]])
    iou = np.array([3 / 5, 3 / 5, 2 / 4])
    return pred, target, matrix, iou


def test_matches_hand_computed_confusion_matrix():
    pred, target, matrix, iou = _hand_case()
    cm = ConfusionMatrix(3).update(pred, target)
    assert np.array_equal(cm.matrix, matrix)
    assert np.allclose(cm.per_class_iou(), iou)
    assert cm.miou() == pytest.approx(iou.mean())
    assert cm.pixel_accuracy() == pytest.approx(8 / 11)


def test_torch_numpy_and_logits_inputs_agree():
    pred, target, matrix, _ = _hand_case()
    a = ConfusionMatrix(3).update(torch.from_numpy(pred), torch.from_numpy(target))
    logits = torch.nn.functional.one_hot(torch.from_numpy(pred), 3).permute(0, 3, 1, 2).float()
    b = ConfusionMatrix(3).update(logits, torch.from_numpy(target))
    c = ConfusionMatrix(3).update(logits.numpy(), target)
    for cm in (a, b, c):
        assert np.array_equal(cm.matrix, matrix)


def test_dataset_wide_accumulation_and_absent_classes():
    """Class 3 never appears in targets or predictions: its IoU is nan and mIoU averages the other 3.
    Class 2 appears only in targets in batch 2: it counts (IoU computed on the whole dataset)."""
    cm = ConfusionMatrix(4)
    cm.update(np.array([0, 1, 1]), np.array([0, 1, 0]))
    cm.update(np.array([0, 0]), np.array([2, 0]))
    iou = cm.per_class_iou()
    assert math.isnan(iou[3])
    # class 0: tp 2, fp 1 (t2 predicted 0), fn 1 (t0 predicted 1) -> 2/4; class 1: 1/2; class 2: 0/1
    assert np.allclose(iou[:3], [0.5, 0.5, 0.0])
    assert cm.miou() == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert math.isnan(ConfusionMatrix(2).miou())


def test_merge_state_and_addition():
    pred, target, matrix, _ = _hand_case()
    a = ConfusionMatrix(3).update(pred[:1], target[:1])
    b = ConfusionMatrix(3).update(pred[1:], target[1:])
    assert np.array_equal((a + b).matrix, matrix)
    restored = ConfusionMatrix.from_state(b.state())
    assert np.array_equal(a.merge(restored).matrix, matrix)
    with pytest.raises(ValueError, match="different settings"):
        a.merge(ConfusionMatrix(4))


def test_bad_labels_are_refused():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="outside"):
        cm.update(np.array([0, 5]), np.array([0, 1]))
    with pytest.raises(ValueError, match="outside"):
        cm.update(torch.tensor([0, 1]), torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="shape"):
        cm.update(np.array([0, 1]), np.array([0, 1, 2]))
    assert cm.total == 0


def test_all_reduce_is_a_no_op_without_a_process_group():
    pred, target, matrix, _ = _hand_case()
    cm = all_reduce_confusion_matrix(ConfusionMatrix(3).update(pred, target))
    assert np.array_equal(cm.matrix, matrix)


def _worker(rank, world, port, queue):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    pred, target, _, _ = _hand_case()
    cm = ConfusionMatrix(3).update(pred[rank : rank + 1], target[rank : rank + 1])
    all_reduce_confusion_matrix(cm)
    queue.put((rank, cm.matrix.tolist()))
    dist.destroy_process_group()


def test_all_reduce_sums_over_processes():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=300) for _ in procs)  # spawned processes import torch: slow on a busy machine
    for p in procs:
        p.join(timeout=30)
    _, _, matrix, _ = _hand_case()
    assert np.array_equal(results[0], matrix) and np.array_equal(results[1], matrix)

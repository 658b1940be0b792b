"""linmass.bench over lm_bench_run: the workload list, and short runs whose numbers hold
linmass bench's identities (steps as asked, the hvp ratio of the two rates)."""
import pytest

from linmass import bench


def test_workloads_in_order():
    assert bench.workloads() == ["fcn", "mlp", "cnn", "resnet20", "ntk", "ntk-cnn", "hvp", "gemm"]


def test_training_runs_the_steps_asked_for():
    r = bench.run("fcn", seconds=0.01, steps=2)
    assert r["steps"] == 2 and r["batch"] == 64
    assert r["samples_per_sec"] > 0 and r["gflops"] > 0 and r["ceiling_gflops"] > 0


def test_hvp_rate_is_the_ratio_of_grads_to_hvps():
    r = bench.run("hvp", seconds=0.01)
    assert r["hvp_over_grad_time"] == pytest.approx(r["grads_per_sec"] / r["hvps_per_sec"], rel=1e-12)


def test_unknown_workload_is_refused():
    with pytest.raises(Exception, match="unknown workload 'resnet'"):
        bench.run("resnet", seconds=0.01)

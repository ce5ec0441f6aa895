package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn/data"
)

// TestMNISTCache runs adversarial_mnist three times into one output
// folder: the first run trains and caches the classifier, the second
// finds the cache entry damaged and retrains with a note, the third reads
// the entry. All three must give the same results.json.
func TestMNISTCache(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a classifier three times")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "adv_cache.toml")
	if err := os.WriteFile(cfg, []byte(`experiment = "adversarial_mnist"
[params]
images = 10
grad_images = 10
eps_linf = [0, 0.1]
eps_l2 = [0, 1]
pgd_steps = 2
examples = 1
fd_images = 1
fd_pixels = 2
[params.model]
train_size = 300
channels = [4]
epochs = 1
monitor = 50
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	run := func() (results, report, stderr string) {
		t.Helper()
		var so, se bytes.Buffer
		if code := runner.Run(t.Context(), []string{"-config", cfg, "-out", out}, &so, &se, nil); code != runner.ExitOK {
			t.Fatalf("exit status %d\n%s\n%s", code, so.String(), se.String())
		}
		res, _ := os.ReadFile(filepath.Join(out, "adv_cache", "results.json"))
		rep, _ := os.ReadFile(filepath.Join(out, "adv_cache", "report.md"))
		return string(res), string(rep), se.String()
	}
	first, rep1, _ := run()
	if !strings.Contains(rep1, "| classifier training |") {
		t.Errorf("first run: the report's timings do not say the classifier was trained")
	}
	entries, _ := filepath.Glob(filepath.Join(out, "_cache", "mnist_classifier", "*", mnistWeightsFile))
	if len(entries) != 1 {
		t.Fatalf("cache entries: %v", entries)
	}
	// Damage the weights: the checksum no longer matches.
	w, _ := os.ReadFile(entries[0])
	w[len(w)/2] ^= 0xff
	if err := os.WriteFile(entries[0], w, 0o644); err != nil {
		t.Fatal(err)
	}
	second, rep2, stderr := run()
	if !strings.Contains(stderr, "could not be used") || !strings.Contains(rep2, "cache entry damaged, trained afresh") {
		t.Errorf("second run: no note of the damaged cache entry\nstderr: %s", stderr)
	}
	third, rep3, _ := run()
	if !strings.Contains(rep3, "weights read from the cache") {
		t.Errorf("third run: the weights were not read from the cache")
	}
	if first != second || first != third {
		t.Errorf("results.json differs between trained, retrained and cached runs:\n%s\n%s\n%s", first, second, third)
	}
	var r struct{ Status string }
	if json.Unmarshal([]byte(third), &r) != nil || r.Status != "PASS" {
		t.Errorf("status %q", r.Status)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "_cache", "mnist_classifier", ".tmp-*")); len(left) > 0 {
		t.Errorf("temporary cache folders left: %v", left)
	}
}

// TestMNISTCacheKey: the key follows every setting that determines the
// weights, and nothing else.
func TestMNISTCacheKey(t *testing.T) {
	set := &data.Set{N: 2, Rows: 28, Cols: 28, Classes: 10, Pixels: make([]uint8, 2*784), Labels: []uint8{1, 2}}
	base := defaultMNISTModel()
	base.TrainSize = 100
	key := mnistCacheKey(base, 1, set, set)
	if again := mnistCacheKey(base, 1, set, set); again != key {
		t.Fatal("the same inputs give different keys")
	}
	other := base
	other.DataDir, other.Cache = "/elsewhere", false // where the data came from and whether to cache do not matter
	if mnistCacheKey(other, 1, set, set) != key {
		t.Error("data_dir or cache changed the key")
	}
	for name, change := range map[string]func(c *mnistModelConfig){
		"lr":       func(c *mnistModelConfig) { c.LR *= 1.0000001 },
		"channels": func(c *mnistModelConfig) { c.Channels = []int{8, 17} },
		"epochs":   func(c *mnistModelConfig) { c.Epochs++ },
		"hidden":   func(c *mnistModelConfig) { c.Hidden = 4 },
	} {
		c := base
		c.Channels = slices.Clone(base.Channels)
		change(&c)
		if mnistCacheKey(c, 1, set, set) == key {
			t.Errorf("changing %s keeps the key", name)
		}
	}
	if mnistCacheKey(base, 2, set, set) == key {
		t.Error("changing the seed keeps the key")
	}
	img := &data.Set{N: 2, Rows: 28, Cols: 28, Classes: 10, Pixels: make([]uint8, 2*784), Labels: []uint8{1, 3}}
	if mnistCacheKey(base, 1, img, set) == key {
		t.Error("changing a training label keeps the key")
	}
}

package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/nn/data"
	"github.com/adjointkit/adjointkit/nn/explain"
)

// mnistModelConfig is the [params.model] table shared by the MNIST
// experiments (mnist_classifier, attribution_mnist, adversarial_mnist):
// the data, the convolutional classifier and its training. Experiments
// whose tables agree (and that run with the same seed) share one trained
// model through the runner's cache.
type mnistModelConfig struct {
	DataDir   string  `toml:"data_dir"`   // folder holding the four MNIST IDX files (gzipped or not); "" means the copy in the Go module cache
	TrainSize int     `toml:"train_size"` // training images used (the first ones of the 60 000), 100 to 60000
	Channels  []int   `toml:"channels"`   // output channels of each block 3×3 conv (padding 1), ReLU, 2×2 max pool: 1 to 3 blocks of 1 to 128
	Hidden    int     `toml:"hidden"`     // width of a dense ReLU layer before the 10 outputs, 0 (none) to 1024
	Epochs    int     `toml:"epochs"`     // passes over the training images, 1 to 100
	BatchSize int     `toml:"batch_size"` // images per Adam step, 1 to 1024
	LR        float64 `toml:"lr"`         // Adam's initial learning rate, decayed along a cosine to lr/100 at the last step; 1e-5 to 1
	Monitor   int     `toml:"monitor"`    // test images on which accuracy is recorded after every epoch (the training curve), 0 to 10000
	Cache     bool    `toml:"cache"`      // keep the trained weights in OUT/_cache and reuse them when everything that determines them is unchanged
}

// defaultMNISTModel is the default model: about 10 s of training on
// 10 000 images, above 96% test accuracy.
func defaultMNISTModel() mnistModelConfig {
	return mnistModelConfig{TrainSize: 10000, Channels: []int{8, 16}, Hidden: 0, Epochs: 2, BatchSize: 32, LR: 3e-3, Monitor: 1000, Cache: true}
}

// quickMNISTModel shrinks m for -quick: fewer images, one epoch. The
// accuracy checks of the experiments still hold at this size (a model
// trained on 2000 images for one epoch reaches about 90%).
func quickMNISTModel(m *mnistModelConfig) {
	m.TrainSize = min(m.TrainSize, 2000)
	m.Epochs = min(m.Epochs, 1)
	m.Monitor = min(m.Monitor, 200)
	for i := range m.Channels {
		m.Channels[i] = min(m.Channels[i], 8)
	}
	m.Hidden = min(m.Hidden, 32)
}

// validate checks every key of the table, naming it as model.KEY.
func (m mnistModelConfig) validate() []error {
	errs := []error{
		runner.InRange("model.train_size", m.TrainSize, 100, 60000),
		runner.InRange("model.hidden", m.Hidden, 0, 1024),
		runner.InRange("model.epochs", m.Epochs, 1, 100),
		runner.InRange("model.batch_size", m.BatchSize, 1, 1024),
		runner.InRange("model.lr", m.LR, 1e-5, 1),
		runner.InRange("model.monitor", m.Monitor, 0, 10000),
	}
	if n := len(m.Channels); n < 1 || n > 3 {
		errs = append(errs, runner.ParamErrorf("model.channels", "must list 1 to 3 blocks, got %d", n))
	}
	for i, c := range m.Channels {
		if c < 1 || c > 128 {
			errs = append(errs, runner.ParamErrorf("model.channels", "entry %d must be between 1 and 128, got %d", i, c))
		}
	}
	return errs
}

// describe says what the model is, in words for a report.
func (m mnistModelConfig) describe() string {
	s := ""
	for i, c := range m.Channels {
		if i > 0 {
			s += " → "
		}
		s += fmt.Sprintf("conv 3×3 (%d ch), ReLU, max pool 2", c)
	}
	if m.Hidden > 0 {
		s += fmt.Sprintf(" → dense %d, ReLU", m.Hidden)
	}
	return s + " → dense 10"
}

// build returns the network with weights drawn from rng: the conv blocks
// (He-uniform kernels), the optional hidden layer and the output layer.
func (m mnistModelConfig) build(rng *mrand.Rand) *nn.Sequential {
	var layers []nn.Layer
	in, side := 1, 28
	for _, c := range m.Channels {
		layers = append(layers,
			nn.NewConv2D(rng, in, c, 3, 3, &nn.Conv2DSettings{Padding: 1, Init: nn.HeUniform(1)}),
			nn.ReLU(), nn.NewMaxPool2D(2, 2))
		in, side = c, side/2
	}
	layers = append(layers, nn.NewFlatten())
	flat := in * side * side
	if m.Hidden > 0 {
		layers = append(layers, nn.NewLinear(rng, flat, m.Hidden, nn.HeUniform(1)), nn.ReLU())
		flat = m.Hidden
	}
	layers = append(layers, nn.NewLinear(rng, flat, 10, nil))
	return nn.NewSequential([]int{1, 28, 28}, layers...)
}

// mnistHistory is the record of a training run, kept with the weights in
// the cache so that a model read back reports what its training did.
type mnistHistory struct {
	Loss          []float64 `json:"loss"` // training loss of every step
	StepsPerEpoch int       `json:"steps_per_epoch"`
	MonitorAcc    []float64 `json:"monitor_acc"` // accuracy on the monitor images after each epoch
	Seconds       float64   `json:"seconds"`     // wall time of the training
}

// mnistModel is a trained classifier with its data.
type mnistModel struct {
	cfg         mnistModelConfig
	net         *nn.Sequential
	train, test *data.Set // train holds the images trained on, test all 10 000
	hist        mnistHistory
	fromCache   bool   // the weights were read from the cache
	cacheNote   string // why a cache entry was not used, if one was damaged
	key         string // the cache key
	loadSeconds float64
}

// mnistCacheVersion changes whenever the training procedure in this file
// changes in a way the code fingerprint (mnistProbe) cannot see, such as
// the schedule or the way batches are drawn.
const mnistCacheVersion = "mnist-classifier/1"

// trainMNIST returns the classifier of c: read from the cache when an
// entry for exactly this configuration, seed, data and code exists and is
// sound, trained otherwise (and then cached). It draws its random
// numbers from the run's first generator, so call it before env.Rand is
// used for anything else: then every experiment with the same model
// table and seed gets the same model.
func trainMNIST(env *runner.Env, c mnistModelConfig) (*mnistModel, error) {
	rng := env.Rand()
	start := time.Now()
	train, test, err := data.MNIST(c.DataDir)
	if err != nil {
		return nil, err
	}
	m := &mnistModel{cfg: c, train: train.Head(c.TrainSize), test: test, loadSeconds: time.Since(start).Seconds()}
	m.net = c.build(rng)
	loaderSeed := rng.Uint64()

	m.key = mnistCacheKey(c, env.Seed, m.train, m.test)
	dir := ""
	if c.Cache && env.CacheDir() != "" {
		dir = filepath.Join(env.CacheDir(), "mnist_classifier", m.key)
		switch err := m.readCache(dir); {
		case err == nil:
			m.fromCache = true
			return m, nil
		case !errors.Is(err, os.ErrNotExist):
			m.cacheNote = fmt.Sprintf("the cached model in %s could not be used (%v); trained afresh", dir, err)
			env.Logf("%s", m.cacheNote)
		}
	}

	loader := data.NewLoader(m.train, c.BatchSize, loaderSeed, nil)
	per := loader.BatchesPerEpoch()
	steps := c.Epochs * per
	tr := &nn.Trainer{
		Model: m.net,
		Optimizer: &nn.Scheduled{Optimizer: nn.NewAdam(c.LR),
			Schedule: nn.WarmupCosine{Base: c.LR, Min: c.LR / 100, Total: max(steps-1, 1)}},
	}
	obj := loader.Objective(m.net, false, func(logits *adjoint.Var, labels []int) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(logits, labels)
	})
	m.hist.StepsPerEpoch = per
	t0 := time.Now()
	for k := range steps {
		loss, err := tr.Step(obj)
		if err != nil {
			return nil, fmt.Errorf("training the MNIST classifier: %w", err)
		}
		m.hist.Loss = append(m.hist.Loss, loss)
		env.Progress(k+1, steps, "training the classifier")
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		if (k+1)%per == 0 && c.Monitor > 0 {
			pred := mnistPredict(m.net, m.test, data.Range(0, c.Monitor))
			m.hist.MonitorAcc = append(m.hist.MonitorAcc, accuracyOf(pred, m.test, data.Range(0, c.Monitor)))
		}
	}
	m.hist.Seconds = time.Since(t0).Seconds()
	if dir != "" {
		if err := m.writeCache(dir); err != nil {
			env.Logf("could not cache the trained model: %v", err)
		}
	}
	return m, nil
}

// mnistCacheKey hashes everything that determines the trained weights:
// the procedure's version, the configuration, the seed, the images and
// labels trained on and monitored, and the code's numerics (mnistProbe).
func mnistCacheKey(c mnistModelConfig, seed int64, train, test *data.Set) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nseed %d\nsize %d channels %v hidden %d epochs %d batch %d lr %s monitor %d\n",
		mnistCacheVersion, seed, c.TrainSize, c.Channels, c.Hidden, c.Epochs, c.BatchSize,
		strconv.FormatFloat(c.LR, 'g', -1, 64), c.Monitor)
	for _, s := range []*data.Set{train, test} {
		fmt.Fprintf(h, "set %d %d %d\n", s.N, s.Rows, s.Cols)
		h.Write(s.Pixels)
		h.Write(s.Labels)
	}
	h.Write(mnistProbe(c))
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// mnistProbe is a fingerprint of the code that trains the model: the bits
// of the parameters and losses after two Adam steps of the configured
// architecture on four fixed synthetic images, and the first batch a
// loader draws. Any change to the initialisers, layers, kernels,
// gradients, optimiser or loader that would change the trained weights
// changes these bits, and with them the cache key, so a cached model is
// never reused by code that would train a different one. (It cannot see
// changes that only matter later in training, hence mnistCacheVersion.)
func mnistProbe(c mnistModelConfig) []byte {
	rng := mrand.New(mrand.NewPCG(11, 12))
	net := c.build(rng)
	set := &data.Set{N: 4, Rows: 28, Cols: 28, Classes: 10, Pixels: make([]uint8, 4*784), Labels: []uint8{3, 1, 4, 1}}
	for i := range set.Pixels {
		set.Pixels[i] = uint8(i * 7919 % 251)
	}
	loader := data.NewLoader(set, 3, 5, nil)
	tr := &nn.Trainer{Model: net, Optimizer: nn.NewAdam(c.LR)}
	obj := loader.Objective(net, false, func(logits *adjoint.Var, labels []int) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(logits, labels)
	})
	var b []byte
	for range 2 {
		loss, _ := tr.Step(obj)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(loss))
	}
	for _, p := range net.Params() {
		for _, v := range p.Value().Data {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	for _, i := range loader.Indices(0) {
		b = binary.LittleEndian.AppendUint64(b, uint64(i))
	}
	return b
}

// Cache entry files.
const (
	mnistWeightsFile = "weights.adjk"
	mnistHistoryFile = "history.json"
)

// readCache reads the weights and history of the entry dir into m. A
// missing entry gives an error wrapping os.ErrNotExist; a damaged one any
// other error (nn.Load checks names, shapes and a checksum; the history
// is checked against the configuration).
func (m *mnistModel) readCache(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, mnistHistoryFile))
	if err != nil {
		return fmt.Errorf("history: %v", err) // not wrapped: a half entry is damage, not absence
	}
	var h mnistHistory
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("history: %v", err)
	}
	per := (m.cfg.TrainSize + m.cfg.BatchSize - 1) / m.cfg.BatchSize
	wantAcc := 0
	if m.cfg.Monitor > 0 {
		wantAcc = m.cfg.Epochs
	}
	if h.StepsPerEpoch != per || len(h.Loss) != per*m.cfg.Epochs || len(h.MonitorAcc) != wantAcc || !(h.Seconds >= 0) {
		return fmt.Errorf("history: %d losses, %d accuracies, %d steps per epoch; want %d, %d, %d",
			len(h.Loss), len(h.MonitorAcc), h.StepsPerEpoch, per*m.cfg.Epochs, wantAcc, per)
	}
	for _, v := range append(append([]float64(nil), h.Loss...), h.MonitorAcc...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("history: values not finite")
		}
	}
	ps := m.net.Params()
	saved := make([]*adjoint.Tensor, len(ps))
	for i, p := range ps {
		saved[i] = p.Value().Clone()
	}
	if err := nn.Load(filepath.Join(dir, mnistWeightsFile), ps); err != nil {
		for i, p := range ps { // nn.Load changes nothing on error; be sure
			copy(p.Value().Data, saved[i].Data)
		}
		return fmt.Errorf("weights: %v", err)
	}
	m.hist = h
	return nil
}

// writeCache writes the entry dir atomically: into a temporary folder
// beside it, renamed into place when complete.
func (m *mnistModel) writeCache(dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(parent, ".tmp-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	b, err := json.Marshal(m.hist)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, mnistHistoryFile), b, 0o644); err != nil {
		return err
	}
	if err := nn.Save(filepath.Join(tmp, mnistWeightsFile), m.net.Params()); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil { // a damaged entry: move it aside first
		old := tmp + "-old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(tmp, dir)
}

// mnistPredict returns the predicted class of each image idx of s.
func mnistPredict(net nn.Layer, s *data.Set, idx []int) []int {
	pred := make([]int, 0, len(idx))
	for from := 0; from < len(idx); from += 500 {
		x, _ := s.Batch(idx[from:min(from+500, len(idx))])
		logits := nn.Predict(net, adjoint.Const(x)).Value()
		pred = append(pred, argmaxRows(logits)...)
	}
	return pred
}

// argmaxRows returns the index of the largest entry of each row of a
// [B, K] tensor (the first, on ties).
func argmaxRows(t *adjoint.Tensor) []int {
	b, k := t.Shape[0], t.Shape[1]
	out := make([]int, b)
	for i := range b {
		row := t.Data[i*k : (i+1)*k]
		for j, v := range row {
			if v > row[out[i]] {
				out[i] = j
			}
		}
	}
	return out
}

// accuracyOf returns the fraction of pred that equals the labels of the
// images idx of s.
func accuracyOf(pred []int, s *data.Set, idx []int) float64 {
	if len(idx) == 0 {
		return math.NaN()
	}
	n := 0
	for i, j := range idx {
		if pred[i] == int(s.Labels[j]) {
			n++
		}
	}
	return float64(n) / float64(len(idx))
}

// checkPixels returns n pixels for a gradient check: the ⌈n/2⌉ of largest
// |grad| and the rest drawn at random from the others.
func checkPixels(grad []float64, n int, rng *mrand.Rand) []int {
	mag := make([]float64, len(grad))
	for i, v := range grad {
		mag[i] = math.Abs(v)
	}
	pix := slices.Clone(explain.Order(mag)[:(n+1)/2])
	for _, j := range rng.Perm(len(grad)) {
		if len(pix) == n {
			break
		}
		if !slices.Contains(pix, j) {
			pix = append(pix, j)
		}
	}
	return pix
}

// jitter adds uniform noise in [−a, a] from rng to every element of x, in
// place: it moves quantised MNIST pixels off the exact ties of max-pool
// windows, where a network's output has kinks and no derivative.
func jitter(x *adjoint.Tensor, a float64, rng *mrand.Rand) {
	for j := range x.Data {
		x.Data[j] += a * (2*rng.Float64() - 1)
	}
}

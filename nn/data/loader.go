package data

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Loader cuts a Set into mini-batches, epoch after epoch, each epoch in
// its own random order. Batch k is a function of k and the seed alone:
// the order of epoch e is drawn from a generator seeded with (seed, e),
// so the same seed gives the same batches, a run can resume at any step,
// and the batch an nn.Objective receives depends only on the step the
// Trainer passes it.
//
// A Loader caches the order of the epoch it last served and is not safe
// for concurrent use.
type Loader struct {
	set       *Set
	batchSize int
	seed      uint64
	settings  LoaderSettings

	epoch int   // epoch whose order perm holds; -1 before the first
	perm  []int // order of the images in that epoch
}

// LoaderSettings adjusts a Loader. The zero value (or nil) shuffles every
// epoch and keeps a last, shorter batch.
type LoaderSettings struct {
	// InOrder serves the images in their order in the set every epoch,
	// without shuffling. The zero value shuffles.
	InOrder bool
	// DropLast leaves out the last batch of an epoch when it would be
	// shorter than the batch size. The zero value keeps it.
	DropLast bool
}

// NewLoader returns a Loader of batches of batchSize images of set, the
// epochs' orders drawn from seed. It panics if batchSize < 1 or the set
// has fewer images than one batch needs (with DropLast) or none at all.
func NewLoader(set *Set, batchSize int, seed uint64, s *LoaderSettings) *Loader {
	l := &Loader{set: set, batchSize: batchSize, seed: seed, epoch: -1}
	if s != nil {
		l.settings = *s
	}
	if batchSize < 1 {
		panic(fmt.Sprintf("data: NewLoader: batch size %d, want at least 1", batchSize))
	}
	if set.N == 0 || l.settings.DropLast && set.N < batchSize {
		panic(fmt.Sprintf("data: NewLoader: %d images cannot fill a batch of %d", set.N, batchSize))
	}
	return l
}

// BatchesPerEpoch returns the number of batches in one pass over the set.
func (l *Loader) BatchesPerEpoch() int {
	if l.settings.DropLast {
		return l.set.N / l.batchSize
	}
	return (l.set.N + l.batchSize - 1) / l.batchSize
}

// Epoch returns the epoch (from 0) that batch step belongs to.
func (l *Loader) Epoch(step int) int { return step / l.BatchesPerEpoch() }

// Indices returns the indices into the set of the images of batch step
// (counting from 0 over all epochs). It panics if step < 0.
func (l *Loader) Indices(step int) []int {
	if step < 0 {
		panic(fmt.Sprintf("data: Loader: step %d", step))
	}
	per := l.BatchesPerEpoch()
	e, k := step/per, step%per
	if e != l.epoch {
		l.epoch = e
		if l.settings.InOrder {
			l.perm = Range(0, l.set.N)
		} else {
			l.perm = rand.New(rand.NewPCG(l.seed, uint64(e))).Perm(l.set.N)
		}
	}
	from := k * l.batchSize
	to := min(from+l.batchSize, l.set.N)
	return append([]int(nil), l.perm[from:to]...)
}

// Batch returns batch step as a tensor of shape [B, 1, Rows, Cols] with
// pixels in [0, 1] and the images' labels (see Set.Batch).
func (l *Loader) Batch(step int) (*adjoint.Tensor, []int) {
	return l.set.Batch(l.Indices(step))
}

// Objective returns an nn.Objective for the Trainer that at step k
// evaluates loss(model.Apply(ps, x), labels) on batch k. Inputs are
// reshaped to [B, Rows·Cols] for a model whose first layer takes flat
// vectors when flat is true, and kept as [B, 1, Rows, Cols] otherwise.
func (l *Loader) Objective(model nn.Layer, flat bool, loss func(logits *adjoint.Var, labels []int) *adjoint.Var) nn.Objective {
	return func(step int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		x, labels := l.Batch(step)
		if flat {
			x = x.Reshaped(len(labels), -1)
		}
		return loss(model.Apply(ps, adjoint.Const(x)), labels), nil
	}
}

package nn

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn/safetensors"
)

// TorchSettings configures the mapping between a model and PyTorch
// state_dict tensors. A nil *TorchSettings means the defaults described on
// each field.
//
// The default keys are those of the same model built from torch.nn
// modules inside nested torch.nn.Sequential containers: a Sequential's
// layer i contributes "i." to its layers' keys, a Residual contributes
// nothing, and each layer names its tensors as the corresponding torch.nn
// module does ("weight", "bias", "weight_ih_l0", "running_mean", …).
type TorchSettings struct {
	// Rename maps each default key to the key in the state_dict, for
	// models whose PyTorch version names its modules ("fc1.weight" rather
	// than "0.weight"); nil keeps the default keys.
	Rename func(key string) string
	// DType is the type SaveTorch and TorchStateDict give floating-point
	// tensors: safetensors.F64 (the zero value) or safetensors.F32.
	// BatchNorm's num_batches_tracked is always safetensors.I64, as in
	// PyTorch.
	DType safetensors.DType
	// Metadata is written into the file's header by SaveTorch; nil writes
	// none.
	Metadata map[string]string
}

// torchEntry links state_dict tensors (keys and PyTorch shapes) to a
// layer's own tensors: export computes the PyTorch values from the
// layer's, load writes the layer's from the PyTorch values (called only
// once every entry has been checked).
type torchEntry struct {
	layer   string
	keys    []string
	shapes  [][]int
	count   bool // an integer buffer (num_batches_tracked)
	export  func() [][]float64
	load    func(data [][]float64)
	renamed []string
}

// sameEntry maps a tensor with the same layout on both sides.
func sameEntry(layer, key string, t *adjoint.Tensor) torchEntry {
	return torchEntry{layer: layer, keys: []string{key}, shapes: [][]int{slices.Clone(t.Shape)},
		export: func() [][]float64 { return [][]float64{slices.Clone(t.Data)} },
		load:   func(d [][]float64) { copy(t.Data, d[0]) }}
}

// transposedEntry maps a matrix stored [a b] here and [b a] in PyTorch
// (Linear's weight, the recurrent layers' weights: this package computes
// x·W, PyTorch x·Wᵀ).
func transposedEntry(layer, key string, t *adjoint.Tensor) torchEntry {
	a, b := t.Shape[0], t.Shape[1]
	return torchEntry{layer: layer, keys: []string{key}, shapes: [][]int{{b, a}},
		export: func() [][]float64 { return [][]float64{transpose(t.Data, a, b)} },
		load:   func(d [][]float64) { copy(t.Data, transpose(d[0], b, a)) }}
}

// splitBiasEntry maps a bias that PyTorch stores as two that are always
// added (bias_ih + bias_hh of RNN and LSTM): loading adds them, saving
// puts the whole bias in the first and zeros in the second.
func splitBiasEntry(layer, key1, key2 string, t *adjoint.Tensor) torchEntry {
	return torchEntry{layer: layer, keys: []string{key1, key2}, shapes: [][]int{slices.Clone(t.Shape), slices.Clone(t.Shape)},
		export: func() [][]float64 { return [][]float64{slices.Clone(t.Data), make([]float64, len(t.Data))} },
		load: func(d [][]float64) {
			for i := range t.Data {
				t.Data[i] = d[0][i] + d[1][i]
			}
		}}
}

// transpose returns the n×m transpose of the m×n row-major matrix a.
func transpose(a []float64, m, n int) []float64 {
	out := make([]float64, len(a))
	for i := range m {
		for j := range n {
			out[j*m+i] = a[i*n+j]
		}
	}
	return out
}

// torchEntries lists the state_dict entries of l, with keys prefixed by
// prefix.
func torchEntries(l Layer, prefix string) ([]torchEntry, error) {
	name := layerName(l)
	param := func(n string) *adjoint.Tensor {
		p, ok := Find(l.Params(), n)
		if !ok {
			panic(fmt.Sprintf("nn: %s has no parameter %q", name, n))
		}
		return p.Value()
	}
	switch l := l.(type) {
	case *Sequential:
		var all []torchEntry
		for i, ch := range l.layers {
			es, err := torchEntries(ch, prefix+strconv.Itoa(i)+".")
			if err != nil {
				return nil, err
			}
			all = append(all, es...)
		}
		return all, nil
	case *Residual:
		return torchEntries(l.block, prefix)
	case *Linear:
		return []torchEntry{transposedEntry(name, prefix+"weight", param("weight")), sameEntry(name, prefix+"bias", param("bias"))}, nil
	case *Conv2D, *Conv1D, *ConvTranspose2D, *Embedding:
		// The same names and layouts as torch.nn: Conv weights
		// [out, in/groups, k…], ConvTranspose weights [in, out/groups, k…],
		// biases [out] (absent without a bias, as with bias=False).
		var es []torchEntry
		for _, p := range l.Params() {
			es = append(es, sameEntry(name, prefix+p.Name, p.Value()))
		}
		return es, nil
	case *LayerNorm, *GroupNorm, *BatchNorm:
		var es []torchEntry
		for _, p := range l.Params() {
			key := p.Name
			if key == "gain" {
				key = "weight"
			}
			es = append(es, sameEntry(name, prefix+key, p.Value()))
		}
		for _, b := range Buffers(l) {
			e := sameEntry(name, prefix+b.Name, b.Value())
			e.count = b.Name == "num_batches_tracked"
			es = append(es, e)
		}
		return es, nil
	case *RNN:
		return l.torchEntries(name, prefix, false), nil
	case *GRU:
		return l.torchEntries(name, prefix, true), nil
	case *LSTM:
		return l.torchEntries(name, prefix, false), nil
	}
	if len(l.Params()) == 0 && len(Buffers(l)) == 0 {
		return nil, nil // activations, pooling, reshapes, dropout
	}
	return nil, fmt.Errorf("layer %s: no PyTorch mapping for %T", name, l)
}

// modelEntries lists the entries of model with their final keys, checking
// that the keys are unique.
func modelEntries(model Layer, s *TorchSettings) ([]torchEntry, error) {
	es, err := torchEntries(model, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range es {
		e := &es[i]
		e.renamed = slices.Clone(e.keys)
		if s != nil && s.Rename != nil {
			for j, k := range e.keys {
				e.renamed[j] = s.Rename(k)
			}
		}
		for _, k := range e.renamed {
			if seen[k] {
				return nil, fmt.Errorf("two tensors of the model are both named %q", k)
			}
			seen[k] = true
		}
	}
	return es, nil
}

// TorchStateDict returns the parameters and buffers of model as the
// tensors of its PyTorch state_dict: PyTorch's keys (see TorchSettings),
// shapes and layouts. It returns an error if the model holds a layer with
// parameters that has no PyTorch counterpart.
func TorchStateDict(model Layer, s *TorchSettings) ([]safetensors.Tensor, error) {
	es, err := modelEntries(model, s)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	dt := safetensors.F64
	if s != nil && s.DType != "" {
		dt = s.DType
	}
	if dt != safetensors.F64 && dt != safetensors.F32 {
		return nil, fmt.Errorf("nn: TorchSettings.DType %q: want F64 or F32", dt)
	}
	var ts []safetensors.Tensor
	for _, e := range es {
		for j, d := range e.export() {
			t := safetensors.Tensor{Name: e.renamed[j], DType: dt, Value: adjoint.FromData(d, e.shapes[j]...)}
			if e.count {
				t.DType = safetensors.I64
			}
			ts = append(ts, t)
		}
	}
	return ts, nil
}

// LoadTorchStateDict sets the parameters and buffers of model from the
// tensors of a PyTorch state_dict (as Decode returns them), converting
// layouts: Linear and recurrent weights are transposed, the two biases of
// PyTorch's RNN and LSTM are added into one. Every tensor of the model
// must be present with PyTorch's shape and a floating-point dtype (an
// integer one for num_batches_tracked), and every tensor given must
// belong to the model; otherwise the error names the tensor, wraps
// ErrMismatch, and the model is left unchanged: everything is checked
// before anything is written.
func LoadTorchStateDict(model Layer, ts []safetensors.Tensor, s *TorchSettings) error {
	if err := loadStateDict(model, ts, s); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

func loadStateDict(model Layer, ts []safetensors.Tensor, s *TorchSettings) error {
	es, err := modelEntries(model, s)
	if err != nil {
		return err
	}
	byName := make(map[string]safetensors.Tensor, len(ts))
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return fmt.Errorf("tensor %q given twice", t.Name)
		}
		byName[t.Name] = t
	}
	used := map[string]bool{}
	data := make([][][]float64, len(es))
	var missing []string
	for i, e := range es {
		data[i] = make([][]float64, len(e.keys))
		for j, k := range e.renamed {
			t, ok := byName[k]
			if !ok {
				missing = append(missing, fmt.Sprintf("%q (%v, of %s)", k, e.shapes[j], e.layer))
				continue
			}
			used[k] = true
			switch {
			case t.Value == nil:
				return fmt.Errorf("tensor %q has no value: %w", k, ErrMismatch)
			case !slices.Equal(t.Value.Shape, e.shapes[j]):
				return fmt.Errorf("tensor %q has shape %v, %s needs %v: %w", k, t.Value.Shape, e.layer, e.shapes[j], ErrMismatch)
			case e.count && (t.DType.IsFloat() || t.DType.Size() == 0):
				return fmt.Errorf("tensor %q has dtype %s, want an integer dtype (I64) for %s: %w", k, t.DType, e.layer, ErrMismatch)
			case !e.count && !t.DType.IsFloat():
				return fmt.Errorf("tensor %q has dtype %s, want a floating-point dtype for %s: %w", k, t.DType, e.layer, ErrMismatch)
			}
			data[i][j] = t.Value.Data
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d tensors of the model are missing: %s: %w", len(missing), listSome(missing), ErrMismatch)
	}
	var extra []string
	for _, t := range ts {
		if !used[t.Name] {
			extra = append(extra, fmt.Sprintf("%q (%v)", t.Name, t.Value.Shape))
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("%d tensors do not belong to the model: %s: %w", len(extra), listSome(extra), ErrMismatch)
	}
	for i, e := range es {
		e.load(data[i])
	}
	return nil
}

// listSome joins the first few items of a list for an error message.
func listSome(items []string) string {
	const most = 5
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(" and %d more", len(items)-most)
}

// LoadTorch reads a safetensors file holding a PyTorch state_dict, such as
// the one safetensors.torch.save_file(model.state_dict(), path) writes,
// into model, as LoadTorchStateDict does. A damaged file gives an error
// wrapping safetensors.ErrFormat; tensors that do not fit the model give
// one wrapping ErrMismatch. Either way the model is left unchanged.
func LoadTorch(path string, model Layer, s *TorchSettings) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	ts, _, err := safetensors.Decode(data)
	if err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	if err := loadStateDict(model, ts, s); err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	return nil
}

// SaveTorch writes the PyTorch state_dict of model (TorchStateDict) to a
// safetensors file at path, atomically as Save does. PyTorch loads it with
// model.load_state_dict(safetensors.torch.load_file(path)).
func SaveTorch(path string, model Layer, s *TorchSettings) error {
	ts, err := TorchStateDict(model, s)
	if err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	var meta map[string]string
	if s != nil {
		meta = s.Metadata
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, ts, meta); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	return nil
}

// torchEntries maps a recurrent layer to torch.nn.RNN, GRU or LSTM with
// batch_first=True: for layer l and direction d, weight_ih_l<l>[_reverse]
// is W_xᵀ and weight_hh_l<l>[_reverse] is W_hᵀ, with the gates in the same
// order (GRU r, z, n; LSTM i, f, g, o); GRU's biases map one to one, the
// single bias of RNN and LSTM to the sum bias_ih + bias_hh.
func (r *recurrent) torchEntries(name, prefix string, twoBiases bool) []torchEntry {
	var es []torchEntry
	for k := range r.layers * r.dirs {
		suffix := fmt.Sprintf("_l%d", k/r.dirs)
		if k%r.dirs == 1 {
			suffix += "_reverse"
		}
		ps := r.params[k*r.perCell : (k+1)*r.perCell]
		es = append(es,
			transposedEntry(name, prefix+"weight_ih"+suffix, ps[0].Value()),
			transposedEntry(name, prefix+"weight_hh"+suffix, ps[1].Value()))
		if twoBiases {
			es = append(es, sameEntry(name, prefix+"bias_ih"+suffix, ps[2].Value()), sameEntry(name, prefix+"bias_hh"+suffix, ps[3].Value()))
		} else {
			es = append(es, splitBiasEntry(name, prefix+"bias_ih"+suffix, prefix+"bias_hh"+suffix, ps[2].Value()))
		}
	}
	return es
}

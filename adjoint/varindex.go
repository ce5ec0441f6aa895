package adjoint

import (
	"math/bits"
	"sync"
	"unsafe"
)

// varIndex maps the Vars of one graph to their positions in its
// topological order. Every pass over a graph looks its values up several
// times per edge, and on the small graphs of a traced vector field (a few
// dozen values, recorded and differentiated at every step of an ODE solve)
// a Go map cost more than the arithmetic: allocating its groups, seeded
// hashing and probing. varIndex is an open-addressing table with linear
// probing over two slices, hashed by the Var's address (Fibonacci hashing;
// the garbage collector does not move heap objects, and the table holds
// the pointers, so an address stays valid and unique while the table is
// in use). It is not safe for concurrent writes; once built it is only
// read.
type varIndex struct {
	keys  []*Var
	pos   []int32
	shift uint // 64 − log2(len(keys))
	n     int
}

// newVarIndex returns an empty index with room for at least n values
// before it grows.
func newVarIndex(n int) *varIndex {
	size := 16
	for size*3 < 4*n {
		size *= 2
	}
	return &varIndex{keys: make([]*Var, size), pos: make([]int32, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

// smallIndexSlots is the size of the tables topoIndex starts with: room
// for the graphs of traced vector fields and their tangents.
const smallIndexSlots = 128

// smallIndexes keeps emptied tables of smallIndexSlots slots for reuse:
// a pass over a small graph then clears a kilobyte instead of allocating
// one and a half for the garbage collector. Larger tables are not kept,
// so that a pass over a small graph never clears a large one.
var smallIndexes sync.Pool

// acquireVarIndex returns an empty index of smallIndexSlots slots.
func acquireVarIndex() *varIndex {
	if x, ok := smallIndexes.Get().(*varIndex); ok {
		return x
	}
	return newVarIndex(smallIndexSlots * 3 / 4)
}

// release empties x and keeps it for reuse if it still has the small
// size. x must not be used afterwards.
func (x *varIndex) release() {
	if len(x.keys) != smallIndexSlots {
		return
	}
	clear(x.keys)
	x.n = 0
	smallIndexes.Put(x)
}

func (x *varIndex) slot(v *Var) uint64 {
	return (uint64(uintptr(unsafe.Pointer(v))) * 0x9E3779B97F4A7C15) >> x.shift
}

// get returns v's position and whether v is in the index.
func (x *varIndex) get(v *Var) (int, bool) {
	mask := uint64(len(x.keys) - 1)
	for s := x.slot(v); ; s = (s + 1) & mask {
		switch x.keys[s] {
		case v:
			return int(x.pos[s]), true
		case nil:
			return 0, false
		}
	}
}

// at returns v's position, or 0 if v is not in the index (as a map would).
func (x *varIndex) at(v *Var) int {
	i, _ := x.get(v)
	return i
}

// set records position i for v.
func (x *varIndex) set(v *Var, i int) {
	mask := uint64(len(x.keys) - 1)
	for s := x.slot(v); ; s = (s + 1) & mask {
		switch x.keys[s] {
		case v:
			x.pos[s] = int32(i)
			return
		case nil:
			x.keys[s], x.pos[s] = v, int32(i)
			x.n++
			if 4*x.n > 3*len(x.keys) {
				x.grow()
			}
			return
		}
	}
}

// grow doubles the table, keeping its load at most three quarters.
func (x *varIndex) grow() {
	keys, pos := x.keys, x.pos
	x.keys, x.pos = make([]*Var, 2*len(keys)), make([]int32, 2*len(keys))
	x.shift--
	x.n = 0
	for s, v := range keys {
		if v != nil {
			x.set(v, int(pos[s]))
		}
	}
}

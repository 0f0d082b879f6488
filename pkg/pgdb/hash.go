package pgdb

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

type hasher struct{ h hash.Hash }

func newHasher() *hasher { return &hasher{h: sha256.New()} }

func (h *hasher) add(name string, body []byte) {
	h.h.Write([]byte(name))
	h.h.Write([]byte{0})
	h.h.Write(body)
	h.h.Write([]byte{0})
}

func (h *hasher) sum() string { return hex.EncodeToString(h.h.Sum(nil))[:16] }

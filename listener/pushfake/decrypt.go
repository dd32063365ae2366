package pushfake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// decrypt does what the browser does with an RFC 8291 message: the aes128gcm content coding of
// RFC 8188, keyed by ECDH between the subscription's key and the sender's one-time key.
func (sub *subscriber) decrypt(body []byte) ([]byte, error) {
	// Header: salt(16) | rs(4) | idlen(1) | keyid(idlen), then the record.
	const fixed = 16 + 4 + 1
	if len(body) < fixed {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < fixed+idlen {
		return nil, errors.New("body shorter than its keyid")
	}
	keyid, record := body[fixed:fixed+idlen], body[fixed+idlen:]
	if rs < 18 {
		return nil, fmt.Errorf("record size %d below the minimum 18", rs)
	}
	// RFC 8291 §4: a push message is a single record.
	if uint64(len(record)) > uint64(rs) {
		return nil, fmt.Errorf("%d bytes of records exceed record size %d: more than one record", len(record), rs)
	}
	// RFC 8291 §4: keyid carries the sender's ephemeral public key.
	senderKey, err := ecdh.P256().NewPublicKey(keyid)
	if err != nil {
		return nil, fmt.Errorf("keyid is not an uncompressed P-256 public key: %w", err)
	}
	secret, err := sub.key.ECDH(senderKey)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %w", err)
	}

	// RFC 8291 §3.4: IKM from the ECDH secret and the auth secret, bound to both public keys.
	info := "WebPush: info\x00" + string(sub.key.PublicKey().Bytes()) + string(keyid)
	ikm, err := hkdf.Key(sha256.New, secret, sub.auth, info, 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 §2.2, §2.3: CEK and nonce from the IKM and the salt. With one record the
	// sequence number is 0, so the nonce is used as derived.
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, errors.New("AES-GCM authentication failed: wrong keys or a corrupted body")
	}

	// RFC 8188 §2: the content, a delimiter (0x02 for the last record) and zero padding.
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 || plain[end] != 0x02 {
		return nil, errors.New("no last-record delimiter 0x02 after the content")
	}
	return plain[:end], nil
}

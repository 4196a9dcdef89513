package vectors

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// checkNoDuplicateKeys walks a JSON document and refuses an object with a
// key given twice (encoding/json would silently keep the last one).
func checkNoDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkValue(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the top-level value")
	}
	return nil
}

func walkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return fmt.Errorf("key %q given twice in an object", key)
			}
			seen[key] = true
			if err := walkValue(dec); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walkValue(dec); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// object is one JSON object's fields, undecoded.
type object map[string]json.RawMessage

func parseObject(raw json.RawMessage) (object, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, fmt.Errorf("not an object")
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	return o, nil
}

var (
	lowerHex = regexp.MustCompile(`^([0-9a-f]{2})*$`)
	signed   = regexp.MustCompile(`^-?[0-9]+$`)
	unsigned = regexp.MustCompile(`^[0-9]+$`)
	integer  = regexp.MustCompile(`^-?[0-9]+$`)
)

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		return "", fmt.Errorf("not a string")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// hexBytes decodes a lowercase hex string of the given size (-1: any).
func hexBytes(raw json.RawMessage, size int) ([]byte, error) {
	s, err := jsonString(raw)
	if err != nil {
		return nil, err
	}
	if !lowerHex.MatchString(s) {
		return nil, fmt.Errorf("not lowercase hex of whole bytes")
	}
	b, _ := hex.DecodeString(s)
	if size >= 0 && len(b) != size {
		return nil, fmt.Errorf("%d bytes, expected %d", len(b), size)
	}
	return b, nil
}

func decimalI64(raw json.RawMessage) (int64, error) {
	s, err := jsonString(raw)
	if err != nil {
		return 0, err
	}
	if !signed.MatchString(s) {
		return 0, fmt.Errorf("not a decimal number")
	}
	return strconv.ParseInt(s, 10, 64)
}

func decimalU64(raw json.RawMessage) (uint64, error) {
	s, err := jsonString(raw)
	if err != nil {
		return 0, err
	}
	if !unsigned.MatchString(s) {
		return 0, fmt.Errorf("not an unsigned decimal number")
	}
	return strconv.ParseUint(s, 10, 64)
}

func smallInt(raw json.RawMessage, min, max int64) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if !integer.MatchString(s) {
		return 0, fmt.Errorf("not a JSON integer")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < min || v > max {
		return 0, fmt.Errorf("out of range %d..%d", min, max)
	}
	return v, nil
}

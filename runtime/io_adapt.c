#include "fss/io_adapt.h"

/* One gate key is one chunk, so at most FSS_KEYFILE_MAX_CHUNK_BYTES (1 GiB): enough
 * for every CNN layer at small batches; splitting larger keys is still to do. */
static fss_status sink_put(void *self, uint32_t kind, uint64_t elements, const void *data, size_t bytes)
{
    if (bytes > FSS_KEYFILE_MAX_CHUNK_BYTES)
        return FSS_E_ARG;
    return fss_keyfile_write_chunk((fss_keyfile_writer *)self, kind, elements, data, bytes);
}

static fss_status source_get(void *self, uint32_t kind, uint64_t elements, const void **data, size_t *bytes)
{
    fss_keyfile_chunk c;
    fss_status s = fss_keyfile_next((fss_keyfile_reader *)self, kind, elements, &c);
    if (s == FSS_OK) {
        *data = c.data;
        *bytes = (size_t)c.payload_bytes;
    }
    return s;
}

static fss_status link_exchange(void *self, const void *send, size_t send_bytes, void *recv, size_t recv_bytes)
{
    return fss_peer_exchange((fss_peer *)self, send, send_bytes, recv, recv_bytes);
}

fss_key_sink fss_keyfile_sink(fss_keyfile_writer *w) { return (fss_key_sink){sink_put, w}; }
fss_key_source fss_keyfile_source(fss_keyfile_reader *r) { return (fss_key_source){source_get, r}; }
fss_link fss_peer_link(fss_peer *p) { return (fss_link){link_exchange, p}; }

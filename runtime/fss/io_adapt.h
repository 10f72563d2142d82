/* The evaluation context's key and peer interfaces over io/: key files and TCP. */
#ifndef FSS_IO_ADAPT_H
#define FSS_IO_ADAPT_H

#include "fss/eval.h"
#include "fss/keyfile.h"
#include "fss/transport.h"

FSS_EXTERN_C_BEGIN

fss_key_sink fss_keyfile_sink(fss_keyfile_writer *w);
fss_key_source fss_keyfile_source(fss_keyfile_reader *r);
fss_link fss_peer_link(fss_peer *p);

FSS_EXTERN_C_END

#endif

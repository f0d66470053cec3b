# Cython declarations for protocol.py, which stays plain Python: when Cython
# compiles it (setup.py), these make HTTP1ServerProtocol an extension type with
# C-level attributes. Keep the names equal to the class's __slots__
# (tests/http/test_compiled.py checks).

from squall.http.cycle cimport RequestCycle


cdef class HTTP1ServerProtocol:
    cdef public Py_ssize_t _buffered
    cdef public bint _closed
    cdef public object _config
    cdef public object _context
    cdef public RequestCycle _current
    cdef public double _deadline
    cdef public object _done
    cdef public list _drain_waiters
    cdef public Py_ssize_t _header_bytes
    cdef public Py_ssize_t _header_count
    cdef public object _headers
    cdef public bint _in_message
    cdef public bint _lingering
    cdef public object _loop
    cdef public object _out
    cdef public object _parser
    cdef public RequestCycle _parsing
    cdef public object _pending_error
    cdef public list _pipeline
    cdef public Py_ssize_t _raw_header_bytes
    cdef public bint _reading_headers
    cdef public bint _reading_paused
    cdef public bint _shutting_down
    cdef public object _state
    cdef public object _transport
    cdef public object _upgrade_data
    cdef public object _upgrading
    cdef public bytes _url
    cdef public bint _writing_paused

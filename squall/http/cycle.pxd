# Cython declarations for cycle.py, which stays plain Python: when Cython
# compiles it (setup.py), these make RequestCycle an extension type with
# C-level attributes. Keep the names equal to the class's __slots__
# (tests/http/test_compiled.py checks).

cdef class RequestCycle:
    cdef public bint _chunked
    cdef public object _expected_length
    cdef public object _protocol
    cdef public Py_ssize_t _written_length
    cdef public bint active
    cdef public Py_ssize_t body_received
    cdef public bint busy
    cdef public object context
    cdef public object delegate
    cdef public list events
    cdef public bint expect_continue
    cdef public object headers
    cdef public bint is_head
    cdef public bint keep_alive
    cdef public bint message_complete
    cdef public object method
    cdef public bint response_finished
    cdef public bint response_started
    cdef public object start_line
    cdef public object stream
    cdef public bint switched_protocols
    cdef public bint upgrade_requested
    cdef public object url
    cdef public object version

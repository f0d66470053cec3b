cdef class _RequestDispatcher:
    cdef public object application
    cdef public object chunks
    cdef public object connection
    cdef public object handler
    cdef public object match
    cdef public object request
    cdef public object server_conn
    cdef public object stream

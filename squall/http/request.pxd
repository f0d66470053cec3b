# Cython declarations for request.py, which stays plain Python: when Cython
# compiles it (setup.py), these make HTTPServerRequest an extension type with
# C-level attributes. Keep the names equal to the class's __slots__
# (tests/http/test_compiled.py checks).

cdef class HTTPServerRequest:
    cdef public object _body_arguments
    cdef public object _cookies
    cdef public object _files
    cdef public object _finish_time
    cdef public object _host_name
    cdef public object _query_arguments
    cdef public object _start_time
    cdef public object body
    cdef public object connection
    cdef public object headers
    cdef public object host
    cdef public object method
    cdef public object path
    cdef public object protocol
    cdef public object query
    cdef public object remote_ip
    cdef public object server_connection
    cdef public object uri
    cdef public object version

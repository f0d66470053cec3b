"""The seed program, unchanged but for ``tornado`` -> ``squall`` and Python 3 syntax."""

import squall.httpserver
import squall.ioloop
import squall.web


class PlaceHandler(squall.web.RequestHandler):
    def get(self, id):
        self.write('GETting something')

    def post(self):
        self.write('POSTing something')


application = squall.web.Application([
    (r"/place", PlaceHandler),
    (r"/place/([0-9]+)", PlaceHandler),
])

if __name__ == "__main__":
    http_server = squall.httpserver.HTTPServer(application)
    http_server.listen(8888)
    squall.ioloop.IOLoop.instance().start()

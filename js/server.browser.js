// What a browser bundle gets for @zivacare/connect/server: the server entry
// holds your clientSecret and never belongs in a page.
throw new Error(
  "@zivacare/connect/server runs on your server (it holds your clientSecret): import it from server code, never from a page"
);

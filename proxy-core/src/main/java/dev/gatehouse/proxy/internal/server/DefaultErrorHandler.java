package dev.gatehouse.proxy.internal.server;

import dev.gatehouse.proxy.BodyTooLargeException;
import dev.gatehouse.proxy.ErrorHandler.Phase;
import dev.gatehouse.proxy.ErrorHandler;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.UpstreamConnectException;
import dev.gatehouse.proxy.UpstreamResponseException;
import dev.gatehouse.proxy.UpstreamTimeoutException;
import dev.gatehouse.proxy.UpstreamUnavailableException;

/** The default failure mapping: short plain text, never a stack trace. */
public final class DefaultErrorHandler implements ErrorHandler {
  public static final DefaultErrorHandler INSTANCE = new DefaultErrorHandler();

  private DefaultErrorHandler() {}

  @Override
  public ProxyResponse handle(ProxyExchange exchange, Throwable error, Phase phase) {
    int status = statusFor(error, phase);
    return ProxyResponse.of(status, reasonFor(status) + "\n");
  }

  /** The status the default answers {@code error} with. */
  public static int statusFor(Throwable error, Phase phase) {
    if (error instanceof UpstreamConnectException || error instanceof UpstreamResponseException) {
      return 502;
    }
    if (error instanceof UpstreamTimeoutException) {
      return 504;
    }
    if (error instanceof UpstreamUnavailableException) {
      return 503;
    }
    if (error instanceof dev.gatehouse.proxy.ClientTimeoutException) {
      return 408;
    }
    if (error instanceof dev.gatehouse.proxy.MalformedRequestException) {
      return 400;
    }
    if (error instanceof BodyTooLargeException) {
      return phase == Phase.RESPONSE ? 502 : 413;
    }
    return 500;
  }

  /** The reason phrase of {@code status}, for the default's short bodies. */
  public static String reasonFor(int status) {
    switch (status) {
      case 400: return "Bad Request";
      case 403: return "Forbidden";
      case 404: return "Not Found";
      case 405: return "Method Not Allowed";
      case 407: return "Proxy Authentication Required";
      case 408: return "Request Timeout";
      case 413: return "Content Too Large";
      case 414: return "URI Too Long";
      case 417: return "Expectation Failed";
      case 429: return "Too Many Requests";
      case 431: return "Request Header Fields Too Large";
      case 500: return "Internal Server Error";
      case 501: return "Not Implemented";
      case 502: return "Bad Gateway";
      case 503: return "Service Unavailable";
      case 504: return "Gateway Timeout";
      default: return "Error " + status;
    }
  }
}

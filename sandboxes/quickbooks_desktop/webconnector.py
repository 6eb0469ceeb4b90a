"""A stand-in for the QuickBooks Web Connector: polls a bridge through its WSDL with zeep and feeds QuickBooks.

One ``run_session()`` is what QBWC does on each scheduled run (Intuit's QBWC programmer's guide):
``serverVersion``, ``clientVersion``, ``authenticate``; then, while the service has work,
``sendRequestXML`` -> QuickBooks -> ``receiveResponseXML`` (100 = done, <0 = error: ``getLastError``);
``closeConnection`` at the end. ``connectionError`` when QuickBooks cannot be opened.

Faults (set on :class:`Faults`): the Web Connector ``offline`` (no session at all), QuickBooks ``busy``
(the company file cannot be opened: ``connectionError`` with HRESULT 0x80040410), a response ``lost``
(QuickBooks processed the n-th message set but the answer never reaches the bridge: the session dies
there, as when the PC sleeps or the network drops), and ``hresult`` (QuickBooks refuses a whole message set).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import zeep
from zeep.transports import Transport

from sandboxes.quickbooks_desktop.models import CompanyFile

logger = logging.getLogger("sandboxes.quickbooks_desktop")
QBWC_VERSION = "2.3.0.215"
BUSY_HRESULT = "0x80040410"
BUSY_MESSAGE = "The QuickBooks company data file is currently open in a mode other than the one specified by " \
               "your application."


@dataclass
class Faults:
    offline: int = 0  # the next n sessions do not happen
    busy: int = 0  # the next n sessions find QuickBooks unable to open the company file
    lose_response_after: int | None = None  # in the next session, the n-th message set's answer is lost (1-based)
    hresult_after: int | None = None  # in the next session, QuickBooks refuses the n-th message set


@dataclass
class SessionReport:
    """What one Web Connector run did."""

    happened: bool = True
    authenticated: bool = False
    message_sets: int = 0  # sendRequestXML calls that carried qbXML
    requests: int = 0  # qbXML requests inside them
    last_error: str = ""
    closed: bool = False
    log: list[str] = field(default_factory=list)


class WebConnector:
    def __init__(self, bridge_url: str, username: str, password: str, company: CompanyFile,
                 company_file: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Sandbox.QBW"):
        self.wsdl = bridge_url.rstrip("/") + "/qbwc?wsdl"
        self.username = username
        self.password = password
        self.company = company
        self.company_file = company_file
        self.faults = Faults()
        self._client: zeep.Client | None = None

    @property
    def client(self) -> zeep.Client:
        if self._client is None:
            self._client = zeep.Client(self.wsdl, transport=Transport(timeout=60, operation_timeout=120))
        return self._client

    def run_session(self) -> SessionReport:
        report = SessionReport()
        if self.faults.offline > 0:
            self.faults.offline -= 1
            report.happened = False
            return report
        service = self.client.service
        service.serverVersion()
        version_answer = service.clientVersion(strVersion=QBWC_VERSION) or ""
        if version_answer.startswith("E:"):
            report.last_error = version_answer
            return report
        answer = service.authenticate(strUserName=self.username, strPassword=self.password)
        values = list(answer.string if answer is not None and hasattr(answer, "string") else answer or [])
        ticket, verdict = (values + ["", ""])[:2]
        if verdict in ("nvu", "none") or not ticket:
            report.last_error = verdict or "no ticket"
            return report
        report.authenticated = True
        if self.faults.busy > 0:
            self.faults.busy -= 1
            service.connectionError(ticket=ticket, hresult=BUSY_HRESULT, message=BUSY_MESSAGE)
            report.last_error = BUSY_MESSAGE
            service.closeConnection(ticket=ticket)
            report.closed = True
            return report
        lose_at, self.faults.lose_response_after = self.faults.lose_response_after, None
        refuse_at, self.faults.hresult_after = self.faults.hresult_after, None
        while True:
            request_xml = service.sendRequestXML(ticket=ticket, strHCPResponse="", strCompanyFileName=self.company_file,
                                                 qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0)
            if not request_xml:
                break
            report.message_sets += 1
            report.requests += request_xml.count("Rq requestID=")
            if refuse_at == report.message_sets:
                progress = service.receiveResponseXML(ticket=ticket, response="", hresult="0x80040400",
                                                      message="QuickBooks found an error when parsing the provided "
                                                              "XML text stream.")
            else:
                response_xml = self.company.process(request_xml)
                if lose_at == report.message_sets:
                    report.log.append(f"answer to message set {report.message_sets} lost; session ended")
                    return report  # no receiveResponseXML, no closeConnection: the session just dies
                progress = service.receiveResponseXML(ticket=ticket, response=response_xml, hresult="", message="")
            if progress is None or progress < 0:
                report.last_error = service.getLastError(ticket=ticket) or ""
                break
            if progress >= 100:
                break
        service.closeConnection(ticket=ticket)
        report.closed = True
        return report

    def run_until_idle(self, max_sessions: int = 5) -> list[SessionReport]:
        """Sessions until one finds nothing left to write (what a schedule converges to)."""
        reports = []
        for _ in range(max_sessions):
            report = self.run_session()
            reports.append(report)
            if not report.happened or report.last_error or report.message_sets <= 2:
                break
        return reports
